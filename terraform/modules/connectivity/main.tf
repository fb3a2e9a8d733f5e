# Hybrid connectivity of one region: two dedicated Direct Connect connections at two different
# Direct Connect locations, each with a transit virtual interface to this region's Direct Connect
# gateway, which is associated with the region's transit gateway; the VPC is attached to the
# transit gateway and its private and data subnets route the on-premise ranges through it.
# With one such set per region, the loss of a connection, a location or a region leaves a path.

locals {
  tags        = merge(var.tags, { "module" = "connectivity" })
  connections = { for c in var.dx_connections : c.name => c }
  routes = {
    for pair in setproduct(range(length(var.route_table_ids)), var.on_premise_cidr_blocks) :
    "${pair[0]}-${pair[1]}" => { route_table_id = var.route_table_ids[pair[0]], cidr = pair[1] }
  }
}

resource "aws_ec2_transit_gateway" "this" {
  description                     = "${var.name}: VPC to on-premise over Direct Connect"
  amazon_side_asn                 = var.transit_gateway_asn
  auto_accept_shared_attachments  = "disable"
  default_route_table_association = "enable"
  default_route_table_propagation = "enable"
  dns_support                     = "enable"

  tags = merge(local.tags, { Name = var.name })
}

resource "aws_ec2_transit_gateway_vpc_attachment" "this" {
  transit_gateway_id = aws_ec2_transit_gateway.this.id
  vpc_id             = var.vpc_id
  subnet_ids         = var.attachment_subnet_ids
  dns_support        = "enable"

  tags = merge(local.tags, { Name = var.name })
}

resource "aws_route" "on_premise" {
  for_each = local.routes

  route_table_id         = each.value.route_table_id
  destination_cidr_block = each.value.cidr
  transit_gateway_id     = aws_ec2_transit_gateway.this.id

  depends_on = [aws_ec2_transit_gateway_vpc_attachment.this]
}

resource "aws_dx_gateway" "this" {
  name            = "${var.name}-dxgw"
  amazon_side_asn = tostring(var.dx_gateway_asn)
}

resource "aws_dx_gateway_association" "this" {
  dx_gateway_id         = aws_dx_gateway.this.id
  associated_gateway_id = aws_ec2_transit_gateway.this.id
  allowed_prefixes      = [var.vpc_cidr_block]
}

resource "aws_dx_connection" "this" {
  for_each = local.connections

  name      = "${var.name}-${each.key}"
  location  = each.value.location
  bandwidth = each.value.bandwidth

  tags = local.tags
}

resource "aws_dx_transit_virtual_interface" "this" {
  for_each = local.connections

  name           = "${var.name}-${each.key}"
  connection_id  = aws_dx_connection.this[each.key].id
  dx_gateway_id  = aws_dx_gateway.this.id
  vlan           = each.value.vlan
  address_family = "ipv4"
  bgp_asn        = var.customer_asn
  mtu            = 8500

  tags = local.tags
}
