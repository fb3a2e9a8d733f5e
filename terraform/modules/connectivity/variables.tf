variable "name" {
  type        = string
  description = "Name prefix (for example \"ledger-primary\")."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC attached to the transit gateway."
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR of the VPC, advertised to on-premise through the Direct Connect gateway."

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be a valid IPv4 CIDR."
  }
}

variable "attachment_subnet_ids" {
  type        = list(string)
  description = "One subnet per AZ (the private subnets) for the transit gateway attachment's ENIs."

  validation {
    condition     = length(var.attachment_subnet_ids) == 3
    error_message = "attachment_subnet_ids must hold three subnets, one per availability zone."
  }
}

variable "route_table_ids" {
  type        = list(string)
  description = "Route tables (private and data subnets) that get routes to the on-premise ranges through the transit gateway."
}

variable "on_premise_cidr_blocks" {
  type        = list(string)
  description = "On-premise ranges (core banking, payment channels, operator networks) reached over Direct Connect."

  validation {
    condition     = length(var.on_premise_cidr_blocks) >= 1 && alltrue([for c in var.on_premise_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "on_premise_cidr_blocks needs at least one valid CIDR and must not contain 0.0.0.0/0."
  }
}

variable "transit_gateway_asn" {
  type        = number
  description = "Private BGP ASN of the transit gateway (distinct per region)."

  validation {
    condition     = (var.transit_gateway_asn >= 64512 && var.transit_gateway_asn <= 65534) || (var.transit_gateway_asn >= 4200000000 && var.transit_gateway_asn <= 4294967294)
    error_message = "transit_gateway_asn must be a private ASN (64512-65534 or 4200000000-4294967294)."
  }
}

variable "dx_gateway_asn" {
  type        = number
  description = "Private BGP ASN of the Direct Connect gateway (distinct from the transit gateway's)."

  validation {
    condition     = (var.dx_gateway_asn >= 64512 && var.dx_gateway_asn <= 65534) || (var.dx_gateway_asn >= 4200000000 && var.dx_gateway_asn <= 4294967294)
    error_message = "dx_gateway_asn must be a private ASN (64512-65534 or 4200000000-4294967294)."
  }
}

variable "customer_asn" {
  type        = number
  description = "BGP ASN of the on-premise routers."
}

variable "dx_connections" {
  type = list(object({
    name      = string
    location  = string
    bandwidth = string
    vlan      = number
  }))
  description = "Dedicated Direct Connect connections of this region, at least two at two different Direct Connect locations (maximum resiliency). Each gets a transit virtual interface to the Direct Connect gateway."

  validation {
    condition     = length(var.dx_connections) >= 2 && length(distinct([for c in var.dx_connections : c.location])) >= 2
    error_message = "dx_connections needs at least two connections at two different Direct Connect locations."
  }

  validation {
    condition     = alltrue([for c in var.dx_connections : contains(["1Gbps", "10Gbps", "100Gbps", "400Gbps"], c.bandwidth)])
    error_message = "bandwidth must be a dedicated connection speed: 1Gbps, 10Gbps, 100Gbps or 400Gbps."
  }

  validation {
    condition     = alltrue([for c in var.dx_connections : c.vlan >= 1 && c.vlan <= 4094])
    error_message = "vlan must be between 1 and 4094."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
