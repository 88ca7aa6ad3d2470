"""The local stack's written-out list of what moto's CloudFormation creates
(smsgw_tools.local.moto_cloudformation_types) is moto's own."""

import moto
from moto.cloudformation.parsing import get_model_map

from smsgw_tools.local.moto_cloudformation_types import MOTO_CLOUDFORMATION_TYPES, MOTO_VERSION


def test_the_list_is_the_installed_motos():
    installed = {kind for kind in get_model_map() if kind.startswith("AWS::")}
    missing, gone = installed - MOTO_CLOUDFORMATION_TYPES, MOTO_CLOUDFORMATION_TYPES - installed
    assert not (missing or gone), (
        f"moto {moto.__version__} (the list is {MOTO_VERSION}'s): "
        f"add {sorted(missing)}, remove {sorted(gone)}"
    )
    assert {"AWS::DynamoDB::Table", "AWS::SQS::Queue"} <= MOTO_CLOUDFORMATION_TYPES


def test_a_local_stack_process_imports_nothing_of_moto_to_plan_and_write_the_template():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from smsgw_tools.local.resource_plan import plan\n"
        "from smsgw_tools.local.resources import cloudformation_template\n"
        "from smsgw_tools.template.loading import load\n"
        "template = load()\n"
        "made = plan(template.translated)\n"
        "cloudformation_template(template, made)\n"
        "print(len(made.cloudformation), [m for m in sys.modules if m.split('.')[0] == 'moto'])\n"
    )
    ran = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    planned, imported = ran.stdout.split(" ", 1)
    assert int(planned) > 0
    assert imported.strip() == "[]"


def test_moto_answers_exactly_the_written_out_attributes_of_those_the_template_asks_for():
    from smsgw_tools.local.moto_cloudformation_types import MOTO_CLOUDFORMATION_ATTRIBUTES
    from smsgw_tools.local.resource_plan import plan
    from smsgw_tools.local.resources import attributes_asked
    from smsgw_tools.template.loading import load

    translated = load().translated
    kept = set(plan(translated).cloudformation)
    models = get_model_map()
    asked = {
        (translated["Resources"][name]["Type"], attribute)
        for name, attribute in attributes_asked(translated, kept)
    }
    assert asked
    wrong = {
        (kind, attribute)
        for kind, attribute in asked
        if models[kind].has_cfn_attr(attribute)
        != (attribute in MOTO_CLOUDFORMATION_ATTRIBUTES.get(kind, ()))
    }
    assert not wrong, f"moto {moto.__version__} answers otherwise: {sorted(wrong)}"
