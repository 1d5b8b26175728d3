"""The starter world's judges and the measurements made with them.

* :mod:`engine.eval.nets` — the segmenter and the biome classifier (small CNNs);
* :mod:`engine.eval.judges` — loading/saving the shipped judge files (``assets/judges``);
* :mod:`engine.eval.metrics` — segmentation scores, Frechet distance, PSNR/SSIM/MS-SSIM;
* :mod:`engine.eval.evaluate` — scoring a model by family on held-out world seeds
  (``gan-studio evaluate``);
* :mod:`engine.eval.train_judges` — retraining the judges (``python -m engine.eval.train_judges``).
"""
