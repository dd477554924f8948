"""A plain arithmetic loop in one frame: no calls, so the hook is entered once."""


def run():
    total = 0
    for i in range(1_000_000):
        total = (total + i * 3) % 1_000_003
    return total


EXPECTED = None  # computed on first import below, to keep it exact without a magic number
EXPECTED = run()
