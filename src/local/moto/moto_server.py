"""moto_server for the kopsless local backend, with fixes applied.

moto 5.2.1 keeps the UserData of a launch template version made by CreateLaunchTemplateVersion
as plain text, where CreateLaunchTemplate decodes it; an Auto Scaling group that launches from
such a version then fails (HTTP 500, AssertionError in LaunchTemplateVersion.user_data). Every
`update cluster` makes a new version, so the local backend decodes it the same way for both
calls.

TerminateInstanceInAutoScalingGroup of an instance that is in no group (a retry whose first
attempt went through) fails inside moto (HTTP 500, StopIteration), where AWS answers a
ValidationError "Instance Id not found"; the local backend answers as AWS does.

An EC2 resource's own tags are looked up through DescribeTags's general filter, which walks every
tag of every resource with a regular expression: DescribeInstances with tag filters costs
O(instances x all tags), about 3 s per call at 1,000 instances, so a 1,000-node roll spent most
of its time there. The local backend reads the resource's own tags directly, with the same
result (same entries, same order).

Target health: moto reports every registered instance target healthy, even one that is
terminated, and an Auto Scaling group that terminates a member leaves it registered. The local
backend reports a registered instance that is gone, shutting down or terminated as AWS does
(unused, Target.InvalidState), one still pending as initial (Elb.RegistrationInProgress), and has
an Auto Scaling group deregister a member from its target groups as it terminates it (draining).

Route53 DELETE: Route53 deletes a record set when the change names it exactly as it is now (name,
type, TTL and values, or its alias target), and refuses one that does not exist or does not
match with InvalidChangeBatch. moto checks a DELETE against its journal of CREATE and UPSERT
changes instead, so a record set CloudFormation made (which never enters that journal) can never
be deleted (InvalidInput, "found none"), and one the journal once held is deleted with any old
values. The local backend checks a DELETE against the zone's record sets as Route53 does.

CloudFormation's AWS::ElasticLoadBalancingV2::LoadBalancer ignores Type (every load balancer is
an application one, which refuses a TCP listener) and Tags; its TargetGroup ignores
TargetGroupAttributes and Tags, and outlives the stack's deletion. The local backend applies them,
and deletes the target group with its stack, as AWS does.

Images in a second region: moto parses the creation dates of its image list in place when the
first region's EC2 backend loads it, so the next region's load meets dates already parsed and fails
(HTTP 500, "Invalid timestamp"): only the first region used ever had EC2. The local backend takes a
date already parsed as it is, so every region has the images.

NAT gateway interfaces: moto gives a NAT gateway a plain interface (available, attached to
nothing, not requester-managed) that outlives the gateway. On AWS the gateway's interface is
requester-managed and in use, and goes when the gateway is deleted; the delete stage leaves such
interfaces to their service, and IAM would refuse it one without the cluster's tag. The local
backend models the interface as AWS does.

Dispatch: for every request moto's server lists its own package directory and stats each entry
(about 150) to learn its service names, under the lock that serializes its dispatch. The list
cannot change while the server runs; the local backend reads it once.
A role in an instance profile: IAM refuses DeleteRole while a profile holds the role
(DeleteConflict), and CloudFormation's delete of an AWS::IAM::Role fails on it; moto's CloudFormation
takes the role out of every profile first, whatever made the profile. The local backend deletes a
stack's role only when no profile holds it (a profile of the same stack goes first, as its
dependent), and a stack delete that leaves such a role behind ends DELETE_FAILED, the stack kept
with what it could not delete, as CloudFormation does (moto's delete answers an error and forgets
the stack; other failures are left so).

Everything else is moto as installed.
"""

import sys
from datetime import datetime

import moto.backends as moto_backends
from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend
from moto.cloudformation.models import CloudFormationBackend, Event
from moto.elbv2.models import FakeHealthStatus, FakeLoadBalancer, FakeTargetGroup, elbv2_backends
from moto.ec2.models import amis as ami_models
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.models.nat_gateways import NatGateway, NatGatewayBackend
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix, parse_user_data
from moto.iam.exceptions import DeleteConflictException
from moto.iam.models import Role, iam_backends
from moto.utilities.utils import get_partition
from moto.route53.exceptions import Route53ClientError
from moto.route53.models import ChangeList, Route53Backend
from moto.server import main

_create_version = LaunchTemplates.create_launch_template_version


def _create_version_with_decoded_user_data(self):  # type: ignore[no-untyped-def]
    get_param = self._get_param

    def decoded(name, default=None):  # type: ignore[no-untyped-def]
        value = get_param(name, default)
        if name == "LaunchTemplateData" and isinstance(value, dict) and "UserData" in value:
            value = {**value, "UserData": parse_user_data(get_param("LaunchTemplateData.UserData"))}
        return value

    self._get_param = decoded
    try:
        return _create_version(self)
    finally:
        self._get_param = get_param


LaunchTemplates.create_launch_template_version = _create_version_with_decoded_user_data

_terminate_instance = AutoScalingBackend.terminate_instance


def _terminate_instance_or_not_found(self, instance_id, should_decrement):  # type: ignore[no-untyped-def]
    if not any(state.instance.id == instance_id for group in self.autoscaling_groups.values() for state in group.instance_states):
        raise ValidationError(f"Instance Id not found - No managed instance found for instance ID: {instance_id}")
    return _terminate_instance(self, instance_id, should_decrement)


AutoScalingBackend.terminate_instance = _terminate_instance_or_not_found



def _own_tags(self):  # type: ignore[no-untyped-def]
    resource_id = getattr(self, "id", None)
    if not resource_id:
        return []
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    own = self.ec2_backend.tags.get(resource_id, {})
    return [{"resource_id": resource_id, "key": key, "value": value, "resource_type": resource_type} for key, value in own.items()]


TaggedEC2Resource.get_tags = _own_tags

_health_for = FakeTargetGroup.health_for


def _honest_health_for(self, target, ec2_backend):  # type: ignore[no-untyped-def]
    registered = self.targets.get(target["Id"])
    if registered is not None and registered["Id"].startswith("i-"):
        instance = ec2_backend.get_instance_by_id(registered["Id"])
        state = instance.state if instance else "terminated"
        if state in ("terminated", "shutting-down"):
            return FakeHealthStatus(registered["Id"], registered["Port"], self.health_check_port, "unused", "Target.InvalidState", f"Target is in the {state} state")
        if state == "pending":
            return FakeHealthStatus(registered["Id"], registered["Port"], self.health_check_port, "initial", "Elb.RegistrationInProgress", "Target registration is in progress")
    return _health_for(self, target, ec2_backend)


FakeTargetGroup.health_for = _honest_health_for

_terminate_member = AutoScalingBackend.terminate_instance


def _terminate_member_deregistered(self, instance_id, should_decrement):  # type: ignore[no-untyped-def]
    result = _terminate_member(self, instance_id, should_decrement)
    # AWS deregisters a member it terminates from the group's target groups (draining it first).
    self.elbv2_backend.notify_terminate_instances([instance_id])
    return result


AutoScalingBackend.terminate_instance = _terminate_member_deregistered

_change_record_sets = Route53Backend.change_resource_record_sets


def _bare_name(name):  # type: ignore[no-untyped-def]
    return str(name or "").rstrip(".").lower()


def _delete_matches(record, wanted):  # type: ignore[no-untyped-def]
    alias = wanted.get("AliasTarget")
    if alias or record.alias_target:
        return bool(alias and record.alias_target) and _bare_name(
            alias.get("DNSName")
        ) == _bare_name(record.alias_target.get("DNSName"))
    values = [r.get("Value") for r in (wanted.get("ResourceRecords") or [])]
    return str(record.ttl) == str(wanted.get("TTL")) and sorted(
        str(v) for v in record.records
    ) == sorted(str(v) for v in values)


def _check_deletes_as_route53(self, zoneid, change_list):  # type: ignore[no-untyped-def]
    zone = self.get_hosted_zone(zoneid)
    for change in change_list:
        if change.get("Action") != "DELETE":
            continue
        wanted = change["ResourceRecordSet"]
        name, type_ = wanted.get("Name", ""), wanted.get("Type")
        current = [
            r
            for r in zone.rrsets
            if _bare_name(r.name) == _bare_name(name)
            and r.type == type_
            and r.set_identifier == wanted.get("SetIdentifier")
        ]
        where = f"[name='{name.rstrip('.')}.', type='{type_}'"
        where += f", set-identifier='{wanted['SetIdentifier']}']" if wanted.get("SetIdentifier") else "]"
        if not current:
            raise Route53ClientError(
                "InvalidChangeBatch",
                f"Tried to delete resource record set {where} but it was not found",
            )
        if not any(_delete_matches(r, wanted) for r in current):
            raise Route53ClientError(
                "InvalidChangeBatch",
                f"Tried to delete resource record set {where} but the values provided do not match the current values",
            )
    return _change_record_sets(self, zoneid, change_list)


Route53Backend.change_resource_record_sets = _check_deletes_as_route53
# The DELETEs were checked against the zone above; moto's journal check is what they replace.
ChangeList.has_insert_or_update = lambda self, new_rr_set: True  # type: ignore[method-assign]


@classmethod  # type: ignore[misc]
def _load_balancer_from_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
    properties = cloudformation_json["Properties"]
    return elbv2_backends[account_id][region_name].create_load_balancer(
        resource_name,
        properties.get("SecurityGroups"),
        properties.get("Subnets"),
        scheme=properties.get("Scheme", "internet-facing"),
        loadbalancer_type=properties.get("Type", "application"),
        tags=properties.get("Tags"),
    )


FakeLoadBalancer.create_from_cloudformation_json = _load_balancer_from_cloudformation

_target_group_from_cloudformation = FakeTargetGroup.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


@classmethod  # type: ignore[misc]
def _target_group_with_attributes(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
    target_group = _target_group_from_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json["Properties"]
    for attribute in properties.get("TargetGroupAttributes", []):
        target_group.attributes[attribute["Key"]] = attribute["Value"]
    if properties.get("Tags"):
        elbv2_backends[account_id][region_name].add_tags([target_group.arn], properties["Tags"])
    return target_group


FakeTargetGroup.create_from_cloudformation_json = _target_group_with_attributes


def _delete_target_group(self, account_id, region):  # type: ignore[no-untyped-def]
    # In use by a listener: the stack deletion tries again once the load balancer (and its listeners) went.
    elbv2_backends[account_id][region].delete_target_group(self.arn)


FakeTargetGroup.delete = _delete_target_group

_parse_image_date = ami_models.parse_timestamp


def _image_date(value):  # type: ignore[no-untyped-def]
    return value if isinstance(value, datetime) else _parse_image_date(value)


ami_models.parse_timestamp = _image_date

_nat_gateway_init = NatGateway.__init__


def _nat_gateway_with_managed_interface(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    _nat_gateway_init(self, *args, **kwargs)
    # As AWS shows it: the NAT gateway service's interface, in use by the gateway.
    self._eni.requester_managed = True
    self._eni.status = "in-use"
    self._eni.interface_type = "nat_gateway"
    self._eni.description = f"Interface for NAT Gateway {self.id}"


NatGateway.__init__ = _nat_gateway_with_managed_interface

_delete_nat_gateway = NatGatewayBackend.delete_nat_gateway


def _delete_nat_gateway_and_interface(self, nat_gateway_id):  # type: ignore[no-untyped-def]
    nat_gateway = _delete_nat_gateway(self, nat_gateway_id)
    # AWS releases the gateway's address association and deletes its interface with it.
    for address in self.addresses:
        if address.eni is nat_gateway._eni:
            self.disassociate_address(address=address.public_ip)
    self.enis.pop(nat_gateway._eni.id, None)
    return nat_gateway


NatGatewayBackend.delete_nat_gateway = _delete_nat_gateway_and_interface


HELD_ROLE = "Cannot delete entity, must remove roles from instance profile first."
_delete_role_from_cloudformation = Role.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]


@classmethod  # type: ignore[misc]
def _delete_role_unless_in_profile(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
    backend = iam_backends[account_id][get_partition(region_name)]
    holders = [p.name for p in backend.instance_profiles.values() if any(r.name == resource_name for r in p.roles)]
    if holders:
        raise DeleteConflictException(HELD_ROLE)
    _delete_role_from_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name)


Role.delete_from_cloudformation_json = _delete_role_unless_in_profile

_delete_stack = CloudFormationBackend.delete_stack


def _roles_in_profiles(account_id, region_name):  # type: ignore[no-untyped-def]
    backend = iam_backends[account_id][get_partition(region_name)]
    return {role.name for profile in backend.instance_profiles.values() for role in profile.roles}


def _delete_stack_or_fail(self, name_or_stack_id):  # type: ignore[no-untyped-def]
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    if stack is None:
        return _delete_stack(self, name_or_stack_id)
    try:
        _delete_stack(self, stack.stack_id)
    except Exception as error:
        templated = stack.resource_map._resource_json_map
        left = sorted(
            logical_id
            for logical_id in stack.resource_map._parsed_resources
            if logical_id in templated and templated[logical_id].get("DeletionPolicy") != "Retain"
        )
        held = _roles_in_profiles(self.account_id, self.region_name)
        if not any(
            templated[logical_id].get("Type") == "AWS::IAM::Role"
            and getattr(stack.resource_map._parsed_resources[logical_id], "name", None) in held
            for logical_id in left
        ):
            # Other failures stay as moto has them (an error, the stack forgotten).
            raise
        # DeleteStack itself succeeds; the stack stays, DELETE_FAILED, with what is left.
        self.deleted_stacks.pop(stack.stack_id, None)
        self.stacks[stack.stack_id] = stack
        for logical_id in left:
            resource = stack.resource_map._parsed_resources[logical_id]
            stack.events.append(
                Event(
                    stack_id=stack.stack_id,
                    stack_name=stack.name,
                    logical_resource_id=logical_id,
                    physical_resource_id=getattr(resource, "physical_resource_id", logical_id),
                    resource_type=templated[logical_id].get("Type", ""),
                    resource_status="DELETE_FAILED",
                    resource_status_reason=(
                        HELD_ROLE
                        if getattr(resource, "name", None) in held and templated[logical_id].get("Type") == "AWS::IAM::Role"
                        # moto keeps only its last error: the best it can say of the rest.
                        else str(getattr(error, "message", error))
                    ),
                    resource_properties=None,
                )
            )
        reason = f"The following resource(s) failed to delete: [{', '.join(left)}]. "
        stack.status = "DELETE_FAILED"
        stack.status_reason = reason
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)
    return None


CloudFormationBackend.delete_stack = _delete_stack_or_fail


_moto_modules = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _moto_modules


if __name__ == "__main__":
    main(sys.argv[1:])
