"""Package layout that pyproject.toml cannot express: the data folders as package data.

``assets/`` and ``checkpoints/`` stay at the top of the source tree (where people add label
sets, judges and starter models) and install as the data packages ``gan_studio_assets`` and
``gan_studio_checkpoints``: every file under them ships in wheels and non-editable installs, and
:mod:`engine.resources` finds them through ``importlib.resources``. Everything else is in
pyproject.toml.
"""

from setuptools import find_packages, setup

DATA_PACKAGES = {"gan_studio_assets": "assets", "gan_studio_checkpoints": "checkpoints"}

setup(
    packages=find_packages(include=["gui", "gui.*", "engine", "engine.*"]) + list(DATA_PACKAGES),
    package_dir=DATA_PACKAGES,
    package_data={name: ["**/*"] for name in DATA_PACKAGES},
)
