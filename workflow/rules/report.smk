# Tables, figures and the paper: local rules that read run records only (no training, no GPU).
# One rule per artifact of config `artifacts` (`snakemake table_main`, `snakemake fig_data_scaling`),
# each depending on its runs' records and on the code of its builder, so editing one figure's code
# re-builds that figure and nothing else (runs never depend on report code).

# One line per job with an overall count and ETA (workflow/scripts/ftdojo_progress.py; FTDOJO_PROGRESS=0
# keeps Snakemake's own job blocks).
sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
import ftdojo_progress

ftdojo_progress.install(workflow)

for _name in config["artifacts"]:

    rule:
        name:
            _name
        localrule: True
        input:
            unpack(artifact_input(_name)),
        output:
            artifact_outputs(_name),
        params:
            spec=artifact_spec_param(_name),
            out_dir=artifact_out_dir(_name),
        log:
            f"{ROOT}/logs/{_name}.log",
        shell:
            "{FTAGENT} report build --spec {params.spec:q} --out-dir {params.out_dir} > {log} 2>&1"


rule paper_pdf:
    """The LaTeX paper (paper/main.tex), with the scale's generated tables and figures."""
    localrule: True
    input:
        tex="paper/main.tex",
        artifacts=all_artifacts(),
    output:
        f"{PAPER}/ftdojo.pdf",
    params:
        out=PAPER,
    log:
        f"{ROOT}/logs/paper.log",
    shell:
        "{PYTHON} {workflow.basedir}/scripts/build_paper.py --tex {input.tex} --scale {SCALE} "
        "--out {output} > {log} 2>&1"


rule paper:
    """Target: the paper where a TeX engine exists; otherwise the tables and figures and a one-line note."""
    input:
        paper_target,
