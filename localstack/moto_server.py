# moto_server with the corrections tapctl's tests need where moto refuses what AWS accepts, or
# keeps what AWS deletes. Each correction names its source; the proxy (strict.go) covers the
# other direction.
import sys

from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
from moto.servicediscovery.models import ServiceDiscoveryBackend

# Cloud Map: private DNS namespaces of different names may share a VPC (each is a Route 53
# private hosted zone, and Route 53 associates several private hosted zones with one VPC:
# Route 53 Developer Guide, "Working with private hosted zones"). moto 5.x refuses a second
# namespace in a VPC with ConflictingDomainExists whatever its name; an overlay environment's
# namespace shares its base's VPC. Only a namespace of the same name in the VPC conflicts here.
_create_private_dns_namespace = ServiceDiscoveryBackend.create_private_dns_namespace


def create_private_dns_namespace(self, name, creator_request_id, description, vpc, tags, properties):
    same_name = any(ns.vpc == vpc and ns.name == name for ns in self.namespaces.values())
    marked = vpc if same_name else vpc + "#" + name
    operation = _create_private_dns_namespace(self, name, creator_request_id, description, marked, tags, properties)
    for ns in self.namespaces.values():
        if ns.vpc == marked:
            ns.vpc = vpc
    return operation


ServiceDiscoveryBackend.create_private_dns_namespace = create_private_dns_namespace

# Application Auto Scaling: "Deregistering a scalable target deletes the scaling policies and
# the scheduled actions that are associated with it" (Application Auto Scaling API Reference,
# DeregisterScalableTarget). moto keeps the policies; tapctl's down deregisters the target only.
_deregister_scalable_target = ApplicationAutoscalingBackend.deregister_scalable_target


def deregister_scalable_target(self, namespace, r_id, dimension):
    _deregister_scalable_target(self, namespace, r_id, dimension)
    for key, policy in list(self.policies.items()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (namespace, r_id, dimension):
            policy.delete_alarms(self.account_id, self.region_name)
            del self.policies[key]


ApplicationAutoscalingBackend.deregister_scalable_target = deregister_scalable_target

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
