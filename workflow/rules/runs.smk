# Agent runs and their held-out evaluation: separate jobs (an agent never grades itself), both GPU
# rules at the paper scale. Both call `<python> -m ftagent ...` in a shell (not `script:`), so editing
# report or plotting code never re-runs them. Resources are portable (gpu or gres per the profile,
# runtime growing with the attempt, mem_mb, cpus_per_task); site settings live in the SLURM profile.


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
        settings=run_settings,
        data=data_dir(),
        repo=f"{ROOT}/repository",
        model=f"{ROOT}/models/{{model}}",
        cache=f"{ROOT}/llm_cache",
        out=RUN_DIR,
        gpu_exec=gpu_exec("run"),
    threads: SC.get("dojo", {}).get("threads") or 1
    resources:
        **run_resources(),
    log:
        f"{RUN_DIR}/run.log",
    shell:
        "{params.gpu_exec}{FTAGENT} run --task {wildcards.task} --agent {wildcards.agent} "
        "--backbone {wildcards.backbone} --base-model {wildcards.model} --model-dir {params.model} "
        "--data-dir {params.data} --repository {params.repo} --out {params.out} --seed {wildcards.seed} "
        "--settings {params.settings:q} --cache-dir {params.cache} > {log} 2>&1"


rule evaluate_run:
    """The harness's validation and test scores of every experiment of a run: eval.json."""
    input:
        f"{RUN_DIR}/run.json",
    output:
        f"{RUN_DIR}/eval.json",
    params:
        out=RUN_DIR,
        gpu_exec=gpu_exec("eval"),
    threads: SC.get("dojo", {}).get("threads") or 1
    resources:
        **eval_resources(),
    # Short jobs: a SLURM profile can pack several into one allocation (group-components: evaluate=N).
    group:
        "evaluate"
    log:
        f"{RUN_DIR}/eval.log",
    shell:
        "{params.gpu_exec}{FTAGENT} eval --run {params.out} > {log} 2>&1"
