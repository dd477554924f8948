"""A generator expression consumed by `sum`: 500,000 generator resumes."""


def run():
    return sum(x * x % 7 for x in range(500_000))


EXPECTED = sum([x * x % 7 for x in range(500_000)])
