# Tables and figures: read run records only (no training, no GPU); each is its own target.


localrules:
    table_main,
    fig_main_scores,


rule table_main:
    """Main results table (paper §5): test scores per task and agent."""
    input:
        experiment_evals("main"),
    output:
        f"{TABLES}/main.csv",
        f"{TABLES}/main.md",
        f"{TABLES}/main.tex",
    params:
        runs=experiment_run_dirs("main"),
    log:
        f"{ROOT}/logs/table_main.log",
    shell:
        "{FTAGENT} report table main --runs {params.runs} --out-dir {TABLES} --scale {SCALE} > {log} 2>&1"


rule fig_main_scores:
    """Main results figure: test scores per task, one bar per agent."""
    input:
        experiment_evals("main"),
    output:
        f"{FIGS}/main_scores.pdf",
        f"{FIGS}/main_scores.png",
    params:
        runs=experiment_run_dirs("main"),
    log:
        f"{ROOT}/logs/fig_main_scores.log",
    shell:
        "{FTAGENT} report figure main_scores --runs {params.runs} --out-dir {FIGS} --scale {SCALE} > {log} 2>&1"
