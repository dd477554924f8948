"""Recursive `fib(25)`: ~250,000 Python-to-Python calls, each entering the frame hook."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def run():
    return fib(25)


EXPECTED = 75025
