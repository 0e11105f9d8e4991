"""A mock resource monitor that records every registration, as the engine would receive it.

The same monitor serves `skyrelay plan` and the test suite, so what tests assert is what users see.
On top of the SDK's MockMonitor it:

- turns a string that embeds an unknown (an f-string over an invoke placeholder) into the unknown
  sentinel before anything reads the request (unknowns.py);
- records dependencies in a stable order (the SDK gathers them in sets, whose order changes from
  one process to the next);
- answers invokes itself, so an invoke the plan cannot answer can be wholly unknown, as the engine
  answers one it cannot run yet (`ResourceInvokeResponse.unknown`).
"""

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import provider_pb2, resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from skyrelay.plan.invokes import WHOLLY_UNKNOWN
from skyrelay.plan.model import PlannedResource
from skyrelay.plan.policy_document import PolicyDocumentError
from skyrelay.plan.unknowns import taint_struct
from skyrelay.plan.wire import struct_to_dict


class CapturingMonitor(MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.planned: list[PlannedResource] = []
        self._by_urn: dict[str, PlannedResource] = {}
        self.stack_outputs: dict = {}

    def RegisterResource(self, request):
        taint_struct(request.object)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = struct_to_dict(request.object)
        if request.type.startswith("pulumi:providers:"):
            self.mocks.providers[response.urn] = inputs
        resource = PlannedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            inputs=inputs,
            custom=bool(request.custom),
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={k: sorted(set(v.urns)) for k, v in sorted(request.propertyDependencies.items())},
            provider=request.provider or None,
            request=request,
        )
        self.planned.append(resource)
        self._by_urn[resource.urn] = resource
        return response

    def RegisterResourceOutputs(self, request):
        taint_struct(request.outputs)
        outputs = struct_to_dict(request.outputs)
        if request.urn in self._by_urn:
            self._by_urn[request.urn].outputs = outputs
        elif "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = outputs
        return super().RegisterResourceOutputs(request)

    def Invoke(self, request):
        if request.tok == "pulumi:pulumi:getResource":
            return super().Invoke(request)
        _ensure_event_loop()
        args = rpc.deserialize_properties(request.args)
        try:
            answer = self.mocks.invokes.answer(request.tok, args, self.mocks.provider_inputs(request.provider))
        except PolicyDocumentError as exc:
            failure = provider_pb2.CheckFailure(property="statements", reason=str(exc))
            return resource_pb2.ResourceInvokeResponse(failures=[failure])
        if answer is WHOLLY_UNKNOWN:
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        returned = _sync_await(rpc.serialize_properties(answer, {}))
        return resource_pb2.ResourceInvokeResponse(**{"return": returned})
