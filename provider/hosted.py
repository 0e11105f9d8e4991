"""What the package hosts: every public component of every cloud, one line each.

A component's schema token is `skyrelay:<cloud>:<ClassName>`, the same token the Python class
registers (`super().__init__("skyrelay:aws:AsyncJobs", ...)`), so a resource has one type whichever
language created it. One module per cloud keeps the tokens apart: `skyrelay:aws:CostGuard` and
`skyrelay:gcp:CostGuard` are different components, and SDKs get `skyrelay.aws.CostGuard`.

A new component joins by adding its line here (tests/provider checks that every component a cloud
package exports is listed).
"""

from dataclasses import dataclass

import pulumi

from skyrelay.components import aws, azure, gcp
from skyrelay.components.aws import defaults as aws_defaults
from skyrelay.components.azure import defaults as azure_defaults
from skyrelay.components.defaults import Default
from skyrelay.components.gcp import defaults as gcp_defaults

PACKAGE = "skyrelay"


@dataclass(frozen=True)
class Hosted:
    cloud: str  # the schema module
    component: type[pulumi.ComponentResource]
    defaults: dict[str, Default]  # the table the component's `overrides` input changes
    secret_inputs: tuple[str, ...] = ()  # Args keys whose values the schema marks secret

    @property
    def token(self) -> str:
        return f"{PACKAGE}:{self.cloud}:{self.component.__name__}"


HOSTED: tuple[Hosted, ...] = (
    Hosted("aws", aws.AsyncJobs, aws_defaults.ASYNC_JOBS),
    Hosted("aws", aws.JobsApi, aws_defaults.API, secret_inputs=("router_config",)),
    Hosted("aws", aws.CostGuard, aws_defaults.COST_GUARD),
    Hosted("aws", aws.WorkQueue, aws_defaults.ASYNC_JOBS),
    Hosted("azure", azure.CostGuard, azure_defaults.COST_GUARD),
    Hosted("azure", azure.AsyncJobs, azure_defaults.ASYNC_JOBS),
    Hosted("azure", azure.JobsApi, azure_defaults.API, secret_inputs=("router_config",)),
    Hosted("gcp", gcp.CostGuard, gcp_defaults.COST_GUARD),
    Hosted("gcp", gcp.AsyncJobs, gcp_defaults.ASYNC_JOBS),
    Hosted("gcp", gcp.JobsApi, gcp_defaults.API, secret_inputs=("router_config",)),
)
