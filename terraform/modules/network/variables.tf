variable "name" {
  type        = string
  description = "Name prefix for every resource of the network (for example \"ledger-primary\")."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR of the VPC. Must not overlap the other region's VPC or the on-premise ranges."

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block must be a valid IPv4 CIDR of /20 or larger."
  }
}

variable "azs" {
  type        = list(string)
  description = "Exactly three availability zones of the region; one public, one private and one data subnet and one NAT gateway are created in each."

  validation {
    condition     = length(var.azs) == 3 && length(distinct(var.azs)) == 3
    error_message = "azs must list exactly three distinct availability zones."
  }
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days the VPC flow logs are kept in CloudWatch Logs (at least one year for audit)."
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch retention value of at least 365 days."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
