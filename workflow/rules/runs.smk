# Agent runs and their held-out evaluation (separate jobs: an agent never grades itself).


wildcard_constraints:
    task="[a-z0-9_]+",
    agent="[a-z0-9-]+",
    backbone="[A-Za-z0-9._-]+",
    model="[A-Za-z0-9._-]+",
    cap="[0-9]+",
    seed="[0-9]+",


rule run_agent:
    """One agent on one task: run.json, trace.jsonl, experiments/, final/."""
    input:
        data_input(),
        repo=f"{ROOT}/repository/dataset_info.json",
        model=f"{ROOT}/models/{{model}}/config.json",
    output:
        f"{RUN_DIR}/run.json",
    params:
        settings=dojo_settings(),
        data=data_dir(),
        repo=f"{ROOT}/repository",
        model=lambda wc: model_dir(wc.model),
        cache=f"{ROOT}/llm_cache",
        out=RUN_DIR,
    threads: SC.get("dojo", {}).get("threads") or 1
    resources:
        mem_mb=8000,
        runtime=lambda wc, attempt: 60 * attempt,
    log:
        f"{RUN_DIR}/run.log",
    shell:
        "{FTAGENT} run --task {wildcards.task} --agent {wildcards.agent} --backbone {wildcards.backbone} "
        "--base-model {wildcards.model} --model-dir {params.model} --data-dir {params.data} "
        "--repository {params.repo} --out {params.out} --seed {wildcards.seed} --settings {params.settings:q} "
        "--cache-dir {params.cache} > {log} 2>&1"


rule evaluate_run:
    """The harness's validation and test scores of every experiment of a run: eval.json."""
    input:
        f"{RUN_DIR}/run.json",
    output:
        f"{RUN_DIR}/eval.json",
    params:
        out=RUN_DIR,
    threads: SC.get("dojo", {}).get("threads") or 1
    resources:
        mem_mb=8000,
        runtime=lambda wc, attempt: 30 * attempt,
    log:
        f"{RUN_DIR}/eval.log",
    shell:
        "{FTAGENT} eval --run {params.out} > {log} 2>&1"
