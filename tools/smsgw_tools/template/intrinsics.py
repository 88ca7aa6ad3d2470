"""CloudFormation's intrinsic functions, evaluated against a stack: `Ref` (parameters,
pseudo parameters, resources), `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`,
`Fn::Split`, `Fn::If` and the conditions (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
`Condition`); and what a value refers to (`references`, `ref_target`).

What a name or attribute evaluates to is the stack's to say (`Resolver`: the local stack's
`resources.Stack`); this module only walks the template's values. docs/decisions.md ("Tools
split by job") says why it is ours and not a library's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

PSEUDO_PARAMETERS = {"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::StackId"}
PSEUDO_PARAMETERS |= {"AWS::Partition", "AWS::URLSuffix", "AWS::NoValue", "AWS::NotificationARNs"}


class _NoValue:
    """What `!Ref AWS::NoValue` resolves to: the key or list item holding it is dropped."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Resolver(Protocol):
    """What a stack answers for the intrinsic functions."""

    parameters: dict[str, str]

    @property
    def conditions(self) -> dict[str, Any]:
        """The template's Conditions section."""
        ...

    def ref(self, name: str) -> str:
        """What `!Ref name` evaluates to (never `AWS::NoValue`: that is handled here)."""
        ...

    def get_att(self, name: str, attribute: str) -> str:
        """What `!GetAtt name.attribute` evaluates to."""
        ...


def ref_target(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` points at, if `value` is one."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
    return None


def references(value: Any) -> set[str]:
    """Every logical id or parameter that `value` refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        target = ref_target(value)
        if target:
            found.add(target)
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            names = {m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            found |= names - set(variables)
            found |= references(variables)
        for key, item in value.items():
            if key not in ("Ref", "Fn::GetAtt", "Fn::Sub"):
                found |= references(item)
    return found


def resolve(stack: Resolver, value: Any) -> Any:
    """Evaluate the intrinsic functions in `value` against `stack`.

    Keys and list items that resolve to `AWS::NoValue` are dropped, as CloudFormation
    drops them; `value` itself resolving to it gives `NO_VALUE`.
    """
    if isinstance(value, list):
        return [item for item in (resolve(stack, item) for item in value) if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        handler = _INTRINSICS.get(key)
        if handler:
            return handler(stack, argument)
    resolved = {key: resolve(stack, item) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def _resolve_ref(stack: Resolver, name: str) -> Any:
    return NO_VALUE if name == "AWS::NoValue" else stack.ref(name)


def _resolve_get_att(stack: Resolver, argument: Any) -> str:
    name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
    return stack.get_att(name, attribute)


def _resolve_sub(stack: Resolver, argument: Any) -> str:
    text, variables = argument if isinstance(argument, list) else (argument, {})
    values = {key: str(resolve(stack, item)) for key, item in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in values:
            return values[name]
        if "." in name and name.split(".", 1)[0] not in stack.parameters:
            resource, attribute = name.split(".", 1)
            return stack.get_att(resource, attribute)
        return stack.ref(name)

    return re.sub(r"\$\{([^}]+)\}", substitute, text)


def _resolve_if(stack: Resolver, argument: Any) -> Any:
    name, when_true, when_false = argument
    return resolve(stack, when_true if evaluate_condition(stack, name) else when_false)


def evaluate_condition(stack: Resolver, name: str) -> bool:
    """Evaluate a template condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""

    def evaluate(value: Any) -> bool:
        ((key, argument),) = value.items()
        if key == "Condition":
            return evaluate_condition(stack, argument)
        if key == "Fn::Equals":
            left, right = (resolve(stack, item) for item in argument)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not evaluate(argument[0])
        if key == "Fn::And":
            return all(evaluate(item) for item in argument)
        if key == "Fn::Or":
            return any(evaluate(item) for item in argument)
        raise LookupError(f"condition {name}: {key} is not supported locally")

    return evaluate(stack.conditions[name])


def _resolve_join(stack: Resolver, argument: Any) -> str:
    separator, items = argument
    return separator.join(str(item) for item in resolve(stack, items))


def _resolve_select(stack: Resolver, argument: Any) -> Any:
    index, items = argument
    return resolve(stack, items)[int(resolve(stack, index))]


def _resolve_split(stack: Resolver, argument: Any) -> list[str]:
    separator, text = argument
    return str(resolve(stack, text)).split(separator)


_INTRINSICS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": _resolve_ref,
    "Fn::Split": _resolve_split,
    "Fn::GetAtt": _resolve_get_att,
    "Fn::Sub": _resolve_sub,
    "Fn::Join": _resolve_join,
    "Fn::Select": _resolve_select,
    "Fn::If": _resolve_if,
}
