"""skit-pipelines: reusable ML workflows for voicebot teams, as Kubeflow Pipelines (kfp v2) components."""

__version__ = "0.1.0"
