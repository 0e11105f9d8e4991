"""A mock resource monitor that records every registration, as the engine would receive it.

The same monitor serves `skyrelay plan` and the test suite, so what tests assert is what users see.
"""

from pulumi.runtime.mocks import MockMonitor

from skyrelay.plan.model import PlannedResource
from skyrelay.plan.wire import struct_to_dict


class CapturingMonitor(MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.planned: list[PlannedResource] = []
        self._by_urn: dict[str, PlannedResource] = {}
        self.stack_outputs: dict = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        resource = PlannedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            inputs=struct_to_dict(request.object),
            custom=bool(request.custom),
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider or None,
            request=request,
        )
        self.planned.append(resource)
        self._by_urn[resource.urn] = resource
        return response

    def RegisterResourceOutputs(self, request):
        outputs = struct_to_dict(request.outputs)
        if request.urn in self._by_urn:
            self._by_urn[request.urn].outputs = outputs
        elif "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = outputs
        return super().RegisterResourceOutputs(request)
