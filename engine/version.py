"""The app version, stored in every checkpoint and recipe GAN Studio writes."""

APP_NAME = "GAN Studio"
APP_VERSION = "0.1.0"
