variable "certificate_arn" {
  type        = string
  description = "ACM certificate (in this region) of the public API host name, served by the ALB."
}

variable "on_premise_cidr_blocks" {
  type        = list(string)
  description = "On-premise ranges (core banking, payment channels, operator networks) reached over Direct Connect."
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
  description = "This region's Direct Connect connections: at least two, at two different Direct Connect locations."
}

variable "dns_zone_id" {
  type        = string
  description = "Route 53 hosted zone of the public API name; null to manage DNS elsewhere."
  default     = null
}

variable "dns_record_name" {
  type        = string
  description = "Public API host name (failover record: this region is SECONDARY)."
  default     = null
}

variable "node_groups" {
  type = map(object({
    instance_types = list(string)
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gib  = optional(number, 50)
    labels         = optional(map(string), {})
  }))
  description = "EKS managed node groups of this region (warm standby: scaled up by the failover runbook)."
  default = {
    general = {
      instance_types = ["m6i.xlarge", "m6a.xlarge"]
      min_size       = 3
      max_size       = 30
      desired_size   = 3
    }
  }
}

variable "mq_primary_broker_arn" {
  type        = string
  description = "ARN of the us-east-1 broker (primary env output mq_broker_arn). When set, this region's broker is its cross-region data replication replica. Apply the primary env first."
  default     = null
}
