"""The Lambda zip both functions run when no `code_path` is given."""


def default_code_path() -> str:
    # Imported late: packaging builds the zip, which only a render without `code_path` needs.
    from skyrelay.components.aws.packaging import build_lambda_zip

    return str(build_lambda_zip())
