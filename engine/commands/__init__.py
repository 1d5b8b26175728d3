"""Headless subcommands of ``gan-studio``, one module each.

A command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
:data:`engine.cli.COMMAND_MODULES` lists them explicitly. Shared argument helpers live in
:mod:`engine.commands.common`.
"""
