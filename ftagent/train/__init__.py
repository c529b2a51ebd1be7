"""ftagent.train: the fine-tuning engine every agent drives.

* :mod:`~ftagent.train.config` — ``TrainConfig`` (the agent's ``train.yaml``), parameter filtering;
* :mod:`~ftagent.train.data` — Alpaca / chat records to TRL prompt-completion;
* :mod:`~ftagent.train.sft` — ``train_sft``: TRL ``SFTTrainer`` + PEFT, in one process or one rank;
* :mod:`~ftagent.train.launch` — ``launch_training``: ``torchrun`` subprocesses, ports, logs, resume,
  timeouts (``python -m ftagent.train.launch``); :mod:`~ftagent.train.worker` is one rank;
* :mod:`~ftagent.train.ds` — the shipped DeepSpeed ZeRO-2/3 configs (``ds_configs/``);
* :mod:`~ftagent.train.checks` — post-training checks; :mod:`~ftagent.train.failures` — failure classes.

This layer (with :mod:`ftagent.eval`) is the bottom of the package: it never imports dojo or agents.
"""
