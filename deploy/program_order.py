#!/usr/bin/env python3
"""Reads callgrind profiles of lampd and prints its link order (deploy/program-order.sh).

    program_order.py LAMPD CALLGRIND_FILE...

Each file is one callgrind dump; its trigger names the phase ("start-up" or "steady"; the dump at
exit is not used). For every function of the LAMPD binary with a cost of its own in a dump, the
function's section name ".text.<symbol>" is printed: first those that ran in a steady state,
highest cost first, then those that ran only in start-up. A comment line heads each part.
"""
import collections
import os
import sys


def self_costs(path, program):
    """(phase, {symbol: self cost}) of one callgrind dump, for functions of `program`."""
    phase, objects, names = None, {}, {}
    costs = collections.Counter()
    current_object = current_function = None
    skip_next_cost = False
    with open(path, errors="replace") as lines:
        for line in lines:
            if line.startswith("desc: Trigger:"):
                phase = "start-up" if "start-up" in line else "steady" if "steady" in line else None
            elif line.startswith("ob="):
                current_object = resolve(line[3:].strip(), objects)
            elif line.startswith("fn="):
                current_function = resolve(line[3:].strip(), names)
            elif line.startswith(("cob=", "cfn=", "cfi=", "cfl=")):
                if line.startswith("cfn="):
                    resolve(line[4:].strip(), names)
                elif line.startswith("cob="):
                    resolve(line[4:].strip(), objects)
            elif line.startswith("calls="):
                skip_next_cost = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if skip_next_cost:
                    skip_next_cost = False
                    continue
                fields = line.split()
                if len(fields) >= 2 and current_object == program and current_function:
                    try:
                        # callgrind names a recursive call's levels "f'2", "f'3"...: one function
                        costs[current_function.split("'")[0]] += int(fields[1])
                    except ValueError:
                        pass
    return phase, costs


def resolve(field, table):
    """Callgrind's name compression: "(id) name" defines id, "(id)" refers to it."""
    if field.startswith("("):
        ident, _, name = field[1:].partition(")")
        name = name.strip()
        if name:
            table[ident] = name
        return table.get(ident)
    return field


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    program = os.path.realpath(sys.argv[1])
    steady, start_up = collections.Counter(), collections.Counter()
    for path in sys.argv[2:]:
        phase, costs = self_costs(path, program)
        if phase == "steady":
            steady.update(costs)
        elif phase == "start-up":
            start_up.update(costs)
    if not steady:
        sys.exit("no steady-state profile of %s among %s" % (program, " ".join(sys.argv[2:])))
    print("# lampd's link order (deploy/program-order.sh): functions run in a steady state, highest cost first")
    for symbol, _ in steady.most_common():
        print(".text." + symbol)
    print("# then functions run only during start-up")
    for symbol, _ in start_up.most_common():
        if symbol not in steady:
            print(".text." + symbol)


if __name__ == "__main__":
    main()
