"""Training and fine-tuning (issue 10).

Shared machinery: :mod:`.trainer` (the base class family trainers implement), :mod:`.options`
(TrainOptions), :mod:`.data` (batches from the dataset layouts of :mod:`engine.data.folders`),
:mod:`.rundir` (the run directory format), :mod:`.loop` (the shared loop), :mod:`.run` (the run
process), :mod:`.launcher` (starts it, torchrun for ``--nproc``), :mod:`.distributed`,
:mod:`.families` (family -> trainer module) and :mod:`.presets`. One module per family trainer.
"""
