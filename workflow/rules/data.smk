# Data and models: the mini data, the fetched hub data, base models, the raw-data repository.
# Downloads (fetch_data, prepare_model) are local rules: on SLURM they run on the login node, which
# has internet; compute nodes often have none.


localrules:
    fetch_data,
    prepare_model,


rule mini_data:
    """The mini scale's data directory: every task's evaluation data and raw sources, generated."""
    output:
        touch(f"{ROOT}/data/.complete"),
    params:
        tasks=" ".join(data_tasks()),
        out=f"{ROOT}/data",
    log:
        f"{ROOT}/logs/mini_data.log",
    shell:
        "{FTAGENT} data generate-mini --out {params.out} --tasks {params.tasks} > {log} 2>&1"


rule fetch_data:
    """The hub data of the scale (scales.<scale>.fetch), fetched once; everything after it runs offline."""
    output:
        touch(f"{data_dir()}/.fetched"),
    params:
        tasks=" ".join(data_tasks()),
        out=data_dir(),
    log:
        f"{ROOT}/logs/fetch_data.log",
    shell:
        "{FTAGENT} data fetch --out {params.out} --tasks {params.tasks} > {log} 2>&1"


rule tiny_model:
    """The tiny base model of the mini scale, built locally (tokenizer, init, short pretraining)."""
    input:
        data_input(),
    output:
        f"{ROOT}/models/tiny-qwen2/config.json",
    params:
        tasks=" ".join(data_tasks()),
        data=data_dir(),
        out=f"{ROOT}/models/tiny-qwen2",
        steps=SC.get("tiny_model", {}).get("pretrain_steps", 300),
    threads: 2
    log:
        f"{ROOT}/logs/tiny_model.log",
    shell:
        "{FTAGENT} models build-tiny --data-dir {params.data} --tasks {params.tasks} --out {params.out} "
        "--pretrain-steps {params.steps} --threads {threads} > {log} 2>&1"


rule prepare_model:
    """A registered base model as a local folder (SmolLM2 from its PyPI GGUF; hub models downloaded)."""
    output:
        f"{ROOT}/models/{{model}}/config.json",
    params:
        out=f"{ROOT}/models/{{model}}",
    log:
        f"{ROOT}/logs/prepare_model_{{model}}.log",
    shell:
        "{FTAGENT} models prepare {wildcards.model} --out {params.out} > {log} 2>&1"


ruleorder: tiny_model > prepare_model


rule repository:
    """The shared raw-data repository (leakage-guarded) and its dataset_info.json."""
    input:
        data_input(),
        model=f"{model_dir(SC['base_model'])}/config.json",
    output:
        f"{ROOT}/repository/dataset_info.json",
    params:
        tasks=" ".join(data_tasks()),
        data=data_dir(),
        out=f"{ROOT}/repository",
        model=model_dir(SC["base_model"]),
    log:
        f"{ROOT}/logs/repository.log",
    shell:
        "{FTAGENT} data prepare --data-dir {params.data} --out {params.out} --tasks {params.tasks} "
        "--model-dir {params.model} > {log} 2>&1"
