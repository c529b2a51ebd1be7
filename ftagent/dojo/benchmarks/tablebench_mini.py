"""Mini TableBench items: tiny tables of players (or years) with questions whose answers are exact.

One generator per qtype, returning ``(table, question, answer)`` (Visualization also returns the
reference script). Every answer is computed from the table, in TableBench's answer format, so the
task's own scorer gives the reference answer full marks. Kept small for a CPU tiny model: 3-4 rows,
two numeric columns, one-line answers.
"""

from __future__ import annotations

import random
import statistics

Table = dict[str, list]

NAMES = ["ada", "bo", "cy", "dee", "eli", "fay", "gus", "hal", "ivy", "jo", "kai", "lu", "max", "ned",
         "oz", "pia", "quin", "rex", "sol", "tam", "uma", "vic", "wes", "xia", "yan", "zoe"]
COLS = ["goals", "games", "wins", "points"]

#: The mini Visualization script: reads ``table.csv`` with pandas and draws one column as bars.
VIS_CODE = ("```python\nimport pandas as pd\nimport matplotlib.pyplot as plt\ndf = pd.read_csv('table.csv')\n"
            "plt.bar(df['name'], df['{col}'])\nplt.show()\n```")


def mini_table_question(rng: random.Random, multi_hop: bool) -> tuple[Table, str, str]:
    """FactChecking: a cell lookup, or (multi-hop) the name with the top value of a column."""
    names = rng.sample(NAMES, 3)
    cols = rng.sample(COLS, 2)
    data = [[n, *(str(rng.randint(1, 30)) for _ in cols)] for n in names]
    table = {"columns": ["name", *cols], "data": data}
    c = rng.randrange(len(cols))
    if multi_hop:
        vals = [int(r[c + 1]) for r in data]
        if vals.count(max(vals)) > 1:
            data[vals.index(max(vals))][c + 1] = str(max(vals) + 1)
            vals = [int(r[c + 1]) for r in data]
        return table, f"Who has the most {cols[c]}?", data[vals.index(max(vals))][0]
    r = rng.randrange(len(data))
    return table, f"How many {cols[c]} does {data[r][0]} have?", data[r][c + 1]


def _players(rng: random.Random, n: int = 3, cols: list[str] | None = None,
             distinct: bool = True) -> tuple[list[str], list[str], list[list[int]]]:
    """``n`` players with two numeric columns; with ``distinct`` each column has no ties."""
    names = rng.sample(NAMES, n)
    cols = cols or rng.sample(COLS, 2)
    values = [rng.sample(range(1, 31), n) if distinct else [rng.randint(1, 30) for _ in range(n)]
              for _ in cols]
    return names, cols, [[values[c][i] for c in range(len(cols))] for i in range(n)]


def _table(names: list[str], cols: list[str], vals: list[list[int]], first: str = "name") -> Table:
    return {"columns": [first, *cols], "data": [[n, *map(str, v)] for n, v in zip(names, vals, strict=True)]}


def _num(x: float) -> str:
    """A number as TableBench writes answers: integers plain, otherwise two decimals."""
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def numerical_reasoning(rng: random.Random, subtype: str) -> tuple[Table, str, str]:
    """NumericalReasoning: sums, differences, comparisons, counts, ratios, two-hop lookups, ranks, changes."""
    if subtype == "Time-basedCalculation":
        col = rng.choice(COLS)
        years = [2001, 2002, 2003]
        vals = [[rng.randint(1, 60)] for _ in years]
        table = {"columns": ["year", col],
                 "data": [[str(y), str(v[0])] for y, v in zip(years, vals, strict=True)]}
        return table, f"By how much did the {col} change from 2001 to 2003?", str(vals[2][0] - vals[0][0])
    cols = ["goals", "games"] if subtype == "Domain-Specific" else None
    names, cols, vals = _players(rng, cols=cols)
    table = _table(names, cols, vals)
    c = rng.randrange(2)
    col = cols[c]
    column = [v[c] for v in vals]
    if subtype == "Aggregation":
        return table, f"What is the total {col} of all players?", str(sum(column))
    if subtype == "ArithmeticCalculation":
        i, j = sorted(range(3), key=lambda k: -column[k])[:2]
        return table, f"How many more {col} does {names[i]} have than {names[j]}?", str(column[i] - column[j])
    if subtype == "Comparison":
        i, j = rng.sample(range(3), 2)
        winner = names[i] if column[i] > column[j] else names[j]
        return table, f"Who has more {col}, {names[i]} or {names[j]}?", winner
    if subtype == "Counting":
        t = sorted(column)[1]
        return table, f"How many players have more than {t} {col}?", str(sum(v > t for v in column))
    if subtype == "Domain-Specific":
        i = rng.randrange(3)
        return table, f"What is {names[i]}'s goals per game?", _num(round(vals[i][0] / vals[i][1], 2))
    if subtype == "Multi-hop NumericalReasoing":
        i = column.index(max(column))
        other = cols[1 - c]
        return table, f"How many {other} does the player with the most {col} have?", str(vals[i][1 - c])
    if subtype == "Ranking":
        i = sorted(range(3), key=lambda k: -column[k])[1]
        return table, f"Who has the second most {col}?", names[i]
    raise ValueError(f"no mini generator for NumericalReasoning subtype {subtype!r}")


def _corr_label(r: float) -> str:
    """Correlation wording used by TableBench golds: |r| < 0.3 none, < 0.7 weak, else strong."""
    if abs(r) < 0.3:
        return "No correlation"
    return f"{'Weak' if abs(r) < 0.7 else 'Strong'} {'positive' if r > 0 else 'negative'} correlation"


def data_analysis(rng: random.Random, subtype: str) -> tuple[Table, str, str]:
    """DataAnalysis: correlation, trend, mean, main factor, outlier, direction and description questions."""
    if subtype == "TrendForecasting":
        col = rng.choice(COLS)
        start, step = rng.randint(5, 40), rng.randint(1, 9)
        years = [2001, 2002, 2003, 2004]
        table = {"columns": ["year", col],
                 "data": [[str(y), str(start + step * i)] for i, y in enumerate(years)]}
        return table, f"If the trend continues, what will the {col} be in 2005?", str(start + 4 * step)
    names, cols, vals = _players(rng, n=4)
    table = _table(names, cols, vals)
    xs, ys = [v[0] for v in vals], [v[1] for v in vals]
    if subtype == "CorrelationAnalysis":
        r = round(statistics.correlation(xs, ys), 2)
        question = (f"What is the correlation between {cols[0]} and {cols[1]}? "
                    "Give the relation and the coefficient.")
        return table, question, f"{_corr_label(r)}, {r:.2f}"
    if subtype == "StatisticalAnalysis":
        return table, f"What is the average {cols[0]}?", _num(round(statistics.mean(xs), 2))
    if subtype == "ImpactAnalysis":
        big = rng.randrange(2)
        for v in vals:
            v[big] += 50
        table = _table(names, [*cols, "total"], [[*v, v[0] + v[1]] for v in vals])
        return table, f"Which column, {cols[0]} or {cols[1]}, contributes most to the total?", cols[big]
    if subtype == "AnomalyDetection":
        i = rng.randrange(4)
        vals[i][0] *= 100
        table = _table(names, cols, vals)
        answer = f"The anomaly is {names[i]} with {vals[i][0]} {cols[0]}."
        return table, f"Which value of {cols[0]} is an anomaly?", answer
    if subtype == "CausalAnalysis":
        up = rng.random() < 0.5
        ys = sorted(ys, reverse=not up)
        order = sorted(range(4), key=lambda k: xs[k])
        for k, y in zip(order, ys, strict=True):
            vals[k][1] = y
        table = _table(names, cols, vals)
        return (table, f"Does more {cols[0]} go with more {cols[1]}?",
                f"Yes, {cols[1]} rise with {cols[0]}." if up else f"No, {cols[1]} fall as {cols[0]} rise.")
    if subtype == "DescriptiveAnalysis":
        answer = f"The table lists 4 players with their {cols[0]} and {cols[1]}."
        return table, "Describe the table briefly.", answer
    raise ValueError(f"no mini generator for DataAnalysis subtype {subtype!r}")


def visualization(rng: random.Random) -> tuple[Table, str, str, str]:
    """Visualization: a bar chart of one column per player; returns the reference script too."""
    names, cols, vals = _players(rng, distinct=False)
    c = rng.randrange(2)
    table = _table(names, cols, vals)
    answer = f"y_references = [[{', '.join(str(v[c]) for v in vals)}]]"
    return table, f"Draw a bar chart of the {cols[c]} of each player.", answer, VIS_CODE.format(col=cols[c])
