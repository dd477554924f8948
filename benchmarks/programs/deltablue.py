"""One-way constraint propagation in the style of DeltaBlue's chain test: a chain of
variables joined by equality constraints, each with a strength; adding an edit at the head
plans an order by strength and propagates values down the chain. Classes, method calls,
small lists."""

REQUIRED, STRONG, NORMAL, WEAK = 0, 1, 2, 3


class Variable:
    def __init__(self, name, value=0):
        self.name, self.value = name, value
        self.constraints = []
        self.determined_by = None
        self.walk_strength = WEAK
        self.mark = 0


class Constraint:
    def __init__(self, strength):
        self.strength = strength

    def is_satisfied(self):
        raise NotImplementedError


class Equality(Constraint):
    def __init__(self, source, target, strength):
        super().__init__(strength)
        self.source, self.target = source, target
        self.satisfied = False
        source.constraints.append(self)
        target.constraints.append(self)

    def is_satisfied(self):
        return self.satisfied

    def weaker_than_target(self):
        return self.strength >= self.target.walk_strength

    def satisfy(self, mark):
        if self.target.mark == mark:
            return False
        self.satisfied = True
        self.target.mark = mark
        self.target.determined_by = self
        self.target.walk_strength = max(self.strength, self.source.walk_strength)
        return True

    def execute(self):
        self.target.value = self.source.value


class Edit(Constraint):
    def __init__(self, variable, strength):
        super().__init__(strength)
        self.variable = variable

    def execute(self):
        pass


class Planner:
    def __init__(self):
        self.mark = 0

    def new_mark(self):
        self.mark += 1
        return self.mark

    def plan(self, head):
        """The constraints to execute, in order, to propagate a change of `head`."""
        mark = self.new_mark()
        head.mark = mark
        head.walk_strength = REQUIRED
        todo, plan = [head], []
        while todo:
            variable = todo.pop()
            for constraint in variable.constraints:
                if isinstance(constraint, Equality) and constraint.source is variable and constraint.satisfy(mark):
                    plan.append(constraint)
                    todo.append(constraint.target)
        return plan


def chain(n):
    variables = [Variable(f"v{i}") for i in range(n + 1)]
    constraints = [Equality(variables[i], variables[i + 1], NORMAL if i % 3 else STRONG) for i in range(n)]
    return variables, constraints


def run():
    variables, _ = chain(100)
    planner = Planner()
    total = 0
    for value in range(300):
        Edit(variables[0], STRONG)
        variables[0].value = value
        for constraint in planner.plan(variables[0]):
            constraint.execute()
        total += variables[-1].value
    return total


EXPECTED = sum(range(300))
