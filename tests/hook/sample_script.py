"""A script for `python -m xcs run`: a blocking fan-out loop and a loop that must stay sequential."""
import sys
import time


def fetch(x):
    time.sleep(0.05)
    return x * 2


def fan_out(xs):
    out = []
    for x in xs:
        out.append(fetch(x))
    return out


def running_total(xs):
    total = 0
    for x in xs:
        total = fetch(total) + x     # the work reads what the previous iteration computed
        if total > 10:
            break
    return total


if __name__ == "__main__":
    for _ in range(2):
        print(fan_out(list(range(int(sys.argv[1]) if len(sys.argv) > 1 else 4))))
    print(running_total([1, 2, 3]))
