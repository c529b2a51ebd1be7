"""docs/agents.md as written: a toy baseline added through one module and one config/agents.yaml entry gets
its row in every table that names it."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from ftagent.agents.runner import run_agent
from ftagent.dojo.env import DojoSettings
from ftagent.dojo.evaluate_run import evaluate_run
from ftagent.utils.io import read_jsonl
from tests.workflow.conftest import REDUCED, snakemake, workdir

#: The whole baseline: one module outside the package, registered through BaseAgent's helpers.
TOY_MODULE = textwrap.dedent('''
    """A toy baseline: 16 DeepScaleR problems with their boxed answers, a 2-update LoRA."""
    from typing import ClassVar

    from ftagent.agents.base import BaseAgent, register_agent

    SCRIPT = """import json, os
    path = os.path.join(os.environ["FTDOJO_RAW_DIR"], "deepscaler", "data.jsonl")
    rows = [json.loads(line) for line in open(path, encoding="utf-8")][:16]
    out = [{"instruction": r["problem"], "input": "", "output": "\\\\\\\\boxed{%s}" % r["answer"]} for r in rows]
    json.dump(out, open("data.json", "w"))
    """


    @register_agent
    class ToyBaseline(BaseAgent):
        name: ClassVar[str] = "toy-baseline"
        needs_backbone: ClassVar[bool] = False

        def run(self, dojo, llm, trace):
            exp = self.experiment(dojo, trace, hypothesis="[Data Processing] toy\\n[Training] toy")
            with exp.stage("full_data"):
                res = dojo.run_data_script(exp.workspace, SCRIPT, debug=False)
            if exp.step("full_data", res):
                exp.data_stats = {"full": res.stats}
                with exp.stage("full_training"):
                    cfg = {"method": "lora", "max_steps": 2, "logging_steps": 1}
                    tr = dojo.train(exp.workspace, cfg, micro=False)
                exp.train, exp.train_config = tr.stats, tr.config and tr.config.model_dump(exclude_none=True)
                if exp.step("full_training", tr):
                    with exp.stage("evaluation"):
                        exp.validation = dojo.validate(tr)
            self.record(trace, exp)
            return self.outcome(dojo, trace, stop_reason="done")
''')

ENTRY = {"title": "Toy baseline", "kind": "baseline", "needs_backbone": False, "implemented": True,
         "module": "toy_baseline"}


def test_toy_baseline_gets_its_row_in_every_table(tmp_path, monkeypatch, mini):
    model, data, repo = mini
    wd = workdir(tmp_path / "wd", {
        **REDUCED, "use_stored_results": True,
        "experiments.main.agents": ["base-model", "toy-baseline"],
        "experiments.multi_run.agents": ["base-model", "toy-baseline"],
        "scales.mini.experiments": {"main": {}, "multi_run": {"seeds": [0]}},
    }, registries={"agents": {"toy-baseline": ENTRY}})
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "toy_baseline.py").write_text(TOY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(mods))
    monkeypatch.setenv("FTAGENT_CONFIG_DIR", str(wd / "config"))

    out = wd / "results/mini/runs/aime2025/toy-baseline/none/tiny-qwen2/n2000/s0"
    settings = DojoSettings(scale="mini", prompt_style="compact", threads=2, max_eval_items=2,
                            data_full_timeout_s=60)
    rec = run_agent(task="aime2025", agent="toy-baseline", backbone="none", base_model="tiny-qwen2",
                    base_model_dir=model, data_dir=data, repository=repo, out_dir=out, seed=0, settings=settings)
    assert rec.status == "ok" and rec.final.experiment_id == "exp000" and rec.iterations == 1
    (entry,) = read_jsonl(out / "trace.jsonl")
    assert entry["status"] == "ok" and entry["train"]["steps"] == 2
    assert list(entry["timings"]) == ["full_data", "full_training", "evaluation"]
    assert entry["timings"]["full_training"]["train_s"] > 0 and (out / "final" / "process_data.py").exists()
    evaluate_run(out)

    res = snakemake(wd, "--cores", "1", "table_main", "table_multirun")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    tables = wd / "results/mini/tables"
    assert "| Toy baseline |" in (tables / "main.md").read_text()
    main = pd.read_csv(tables / "main.csv")
    cell = main[(main["agent"] == "toy-baseline") & (main["task"] == "aime2025")]
    assert len(cell) == 1 and cell.iloc[0]["status"] == "ok" and pd.notna(cell.iloc[0]["mean"])
    multi = pd.read_csv(tables / "multirun.csv")
    assert (multi["agent"] == "toy-baseline").any()
    assert "Toy baseline" in (tables / "multirun.md").read_text()


def test_registry_module_errors_are_one_line(tmp_path, monkeypatch):
    from ftagent.agents.base import get_agent
    from ftagent.errors import AgentError

    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "agents.yaml").write_text("ghost:\n  title: G\n  kind: baseline\n  needs_backbone: false\n"
                                     "  implemented: true\n  module: no_such_module_xyz\n"
                                     "empty:\n  title: E\n  kind: baseline\n  needs_backbone: false\n"
                                     "  implemented: true\n  module: json\n")
    monkeypatch.setenv("FTAGENT_CONFIG_DIR", str(cfg))
    for name, msg in (("ghost", "cannot import its module 'no_such_module_xyz'"),
                      ("empty", "module 'json' registers no agent of that name"),
                      ("nobody", "unknown agent 'nobody'")):
        with pytest.raises(AgentError) as e:
            get_agent(name)
        assert msg in str(e.value) and "\n" not in str(e.value)
