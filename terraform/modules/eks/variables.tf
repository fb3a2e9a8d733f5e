variable "cluster_name" {
  type        = string
  description = "Name of the EKS cluster (for example \"ledger-primary\")."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,39}$", var.cluster_name))
    error_message = "cluster_name must be 3-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version of the control plane and the node groups (the chart is validated against it)."
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.(3[1-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be a supported minor version, 1.31 or later (for example \"1.33\")."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC the cluster runs in."
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets (one per AZ, three AZs) for the control-plane ENIs and the managed node groups."

  validation {
    condition     = length(var.private_subnet_ids) == 3
    error_message = "private_subnet_ids must hold exactly three subnets, one per availability zone."
  }
}

variable "endpoint_public_access" {
  type        = bool
  description = "Whether the Kubernetes API endpoint is reachable from the internet. Off: operators reach it over Direct Connect or a bastion."
  default     = false
}

variable "api_allowed_cidr_blocks" {
  type        = list(string)
  description = "Private ranges (on-premise operator networks, CI runners) allowed to reach the private API endpoint on 443."
  default     = []

  validation {
    condition     = alltrue([for c in var.api_allowed_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "api_allowed_cidr_blocks must be valid CIDRs and must not contain 0.0.0.0/0."
  }
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
  description = "Managed node groups by name. Each spans all three private subnets; the cluster autoscaler (or Karpenter) moves desired_size between min and max."
  default = {
    general = {
      instance_types = ["m6i.xlarge", "m6a.xlarge"]
      min_size       = 3
      max_size       = 30
      desired_size   = 3
    }
  }

  validation {
    condition = alltrue([
      for g in values(var.node_groups) :
      g.min_size >= 3 && g.min_size <= g.desired_size && g.desired_size <= g.max_size
    ])
    error_message = "Each node group needs min_size >= 3 (one node per AZ) and min_size <= desired_size <= max_size."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : contains(["ON_DEMAND", "SPOT"], g.capacity_type)])
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "cluster_log_types" {
  type        = list(string)
  description = "Control-plane log types sent to CloudWatch Logs."
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  validation {
    condition     = length(setsubtract(var.cluster_log_types, ["api", "audit", "authenticator", "controllerManager", "scheduler"])) == 0 && contains(var.cluster_log_types, "audit")
    error_message = "cluster_log_types may only hold api, audit, authenticator, controllerManager, scheduler, and must include audit."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days the control-plane logs are kept (at least one year for audit)."
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must be at least 365."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
