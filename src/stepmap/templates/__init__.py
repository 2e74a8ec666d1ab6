"""Templates as input: SAM, CloudFormation (YAML or JSON) and CDK output -> state machines, functions,
buckets and tables. Pure data in, pure data out; the service turns an :class:`App` into running things."""

from stepmap.templates.loader import load_template, parse_parameter_overrides
from stepmap.templates.model import App, TemplateBucket, TemplateStateMachine, TemplateTable
from stepmap.templates.substitutions import parse_sub_options, substitute_text, substitute_value

__all__ = [
    "App",
    "TemplateBucket",
    "TemplateStateMachine",
    "TemplateTable",
    "load_template",
    "parse_parameter_overrides",
    "parse_sub_options",
    "substitute_text",
    "substitute_value",
]
