"""A loop of 300,000 method calls on one object."""


class Counter:
    def __init__(self):
        self.total = 0

    def add(self, x):
        self.total += x
        return self.total


def run():
    counter = Counter()
    add = 0
    for i in range(300_000):
        add = counter.add(i & 7)
    return add


EXPECTED = sum(i & 7 for i in range(300_000))
