"""The policy packs that ship with the app, as the package `escalation_policies` (pyproject.toml
maps this folder to it): escalation/packs.py finds them with importlib.resources, installed or in
a checkout. No code: a pack is a `*.yaml` file here."""
