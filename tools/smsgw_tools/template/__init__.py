"""The template tools: `template.yaml` read into a typed model (`translation`, `model`,
`loading`), CloudFormation's intrinsic functions (`intrinsics`), and the check that no
change replaces a stateful resource of the last release (`replacement`)."""
