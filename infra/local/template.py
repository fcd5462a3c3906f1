"""template.yaml, translated from SAM to CloudFormation, with intrinsic functions evaluated.

The local stack reads every resource, route, event source and environment variable from here, so
that nothing about the infrastructure is written down twice.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

_SHORT_TAGS = {
    "Ref": "Ref",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Base64": "Fn::Base64",
    "Condition": "Condition",
}


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that understands CloudFormation's short-form tags (!Ref, !Sub, ...)."""


def _make_constructor(full: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if full == "Fn::GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {full: value}

    return construct


for _short, _full in _SHORT_TAGS.items():
    _CfnLoader.add_constructor(f"!{_short}", _make_constructor(_full))


def load_sam_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """template.yaml as a plain dict, short tags expanded."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return data


@dataclass(frozen=True)
class FunctionSource:
    """Where a function's code lives in this repository."""

    logical_id: str
    module: str  # importable module, e.g. functions.api.app
    handler: str  # attribute in the module, e.g. lambda_handler
    package_type: str  # Zip or Image


def function_sources(sam: Mapping[str, Any]) -> dict[str, FunctionSource]:
    """Map each AWS::Serverless::Function to the module that implements it.

    Zip functions name their folder in CodeUri; image functions name their Dockerfile, whose folder
    holds app.py with the same handler convention (the Dockerfile's CMD is app.lambda_handler).
    """
    out: dict[str, FunctionSource] = {}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        package_type = props.get("PackageType", "Zip")
        if package_type == "Image":
            folder = str(Path(resource["Metadata"]["Dockerfile"]).parent)
            handler = "app.lambda_handler"
        else:
            folder = str(props["CodeUri"]).rstrip("/")
            handler = props.get("Handler") or sam.get("Globals", {}).get("Function", {}).get("Handler")
        module_file, attr = handler.rsplit(".", 1)
        module = ".".join([*Path(folder).parts, module_file])
        out[logical_id] = FunctionSource(logical_id, module, attr, package_type)
    return out


def translate(sam: Mapping[str, Any], region: str) -> dict[str, Any]:
    """SAM → CloudFormation with samtranslator, the same library `sam build`/CloudFormation use."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(dict(sam))
    # samtranslator wants S3 locations; the real code is found through function_sources().
    for logical_id, resource in template["Resources"].items():
        props = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            if props.get("PackageType") == "Image":
                props["ImageUri"] = f"000000000000.dkr.ecr.{region}.amazonaws.com/{logical_id.lower()}:local"
            else:
                props["CodeUri"] = f"s3://onestop-local-code/{logical_id}"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://onestop-local-code/{logical_id}"
    session = boto3.session.Session(region_name=region)
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=session)
    result: dict[str, Any] = translator.translate(template, parameter_values={})
    return result


class UnresolvedReference(KeyError):
    """A Ref or GetAtt to a resource that the local stack has not created (yet)."""


@dataclass
class Resolver:
    """Evaluates CloudFormation intrinsic functions against known parameter and resource values."""

    parameters: dict[str, Any]
    conditions_src: Mapping[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.conditions_src[name]))

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise UnresolvedReference(name)

    def get_att(self, name: str, attribute: str) -> Any:
        if (name, attribute) in self.attrs:
            return self.attrs[(name, attribute)]
        raise UnresolvedReference(f"{name}.{attribute}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(i) for i in self.resolve(items))
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                a, b = self.resolve(arg)
                return a == b
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(arg))
            if key == "Fn::Or":
                return any(self.resolve(arg))
            if key == "Fn::Select":
                index, items = self.resolve(arg)
                return items[int(index)]
            if key == "Fn::Split":
                sep, text = self.resolve(arg)
                return text.split(sep)
            if key == "Condition":
                return self.condition(arg)
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not _NO_VALUE:
                out[k] = resolved
        return out

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return str(self.get_att(logical, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def references_in(self, value: Any) -> set[str]:
        """Logical ids that `value` refers to (for ordering creation)."""
        found: set[str] = set()

        def walk(v: Any) -> None:
            if isinstance(v, list):
                for item in v:
                    walk(item)
            elif isinstance(v, dict):
                for k, arg in v.items():
                    if k == "Ref" and isinstance(arg, str) and arg not in self.parameters:
                        found.add(arg)
                    elif k == "Fn::GetAtt":
                        found.add((arg if isinstance(arg, list) else arg.split(".", 1))[0])
                    elif k == "Fn::Sub":
                        text = arg[0] if isinstance(arg, list) else arg
                        for name in re.findall(r"\$\{([^}!]+)\}", text):
                            base = name.split(".", 1)[0]
                            if base not in self.parameters and not base.startswith("AWS::"):
                                found.add(base)
                        if isinstance(arg, list):
                            walk(arg[1])
                    else:
                        walk(arg)

        walk(value)
        return found


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


def parameter_values(
    cfn: Mapping[str, Any], overrides: Mapping[str, str], region: str, account: str
) -> dict[str, Any]:
    """Template parameter defaults + overrides + pseudo parameters."""
    values: dict[str, Any] = {}
    for name, spec in cfn.get("Parameters", {}).items():
        raw = overrides.get(name, spec.get("Default"))
        if raw is None:
            raise ValueError(f"parameter {name} has no default; pass it explicitly")
        if spec.get("Type") == "CommaDelimitedList" and isinstance(raw, str):
            values[name] = [p.strip() for p in raw.split(",")]
        else:
            values[name] = raw
    values.update(
        {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": f"onestop-{values.get('Stage', 'dev')}",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/onestop/local",
        }
    )
    return values


def dump(cfn: Mapping[str, Any]) -> str:
    """Readable JSON of a translated template (for debugging: python -m infra.local template)."""
    return json.dumps(cfn, indent=2, ensure_ascii=False, default=str)
