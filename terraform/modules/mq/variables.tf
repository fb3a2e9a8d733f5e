variable "name" {
  type        = string
  description = "Broker name (for example \"ledger-primary\")."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the broker."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Two data subnets in different AZs: ACTIVE_STANDBY_MULTI_AZ puts the active broker in one and the standby in the other."

  validation {
    condition     = length(var.subnet_ids) == 2
    error_message = "An ACTIVE_STANDBY_MULTI_AZ broker takes exactly two subnets in two different AZs."
  }
}

variable "client_security_group_ids" {
  type        = list(string)
  description = "Security groups whose members may connect over STOMP+TLS (61614): the EKS cluster/node security group."

  validation {
    condition     = length(var.client_security_group_ids) >= 1
    error_message = "At least one client security group is needed, or nothing can reach the broker."
  }
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "Private ranges (on-premise payment channels over Direct Connect) allowed to use STOMP+TLS (61614)."
  default     = []

  validation {
    condition     = alltrue([for c in var.client_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "client_cidr_blocks must be valid CIDRs and must not contain 0.0.0.0/0."
  }
}

variable "engine_version" {
  type        = string
  description = "ActiveMQ engine version (5.17.6 or later is needed for cross-region data replication)."
  default     = "5.18"

  validation {
    condition     = can(regex("^5\\.1[89]", var.engine_version)) || can(regex("^5\\.17\\.([6-9]|[1-9][0-9])$", var.engine_version))
    error_message = "engine_version must be ActiveMQ 5.17.6 or later."
  }
}

variable "host_instance_type" {
  type        = string
  description = "Broker instance type (mq.m5.large or larger for production; mq.t3.micro cannot run active/standby)."
  default     = "mq.m5.large"

  validation {
    condition     = can(regex("^mq\\.m[5-9]", var.host_instance_type))
    error_message = "host_instance_type must be an mq.m5 class (or newer) instance type."
  }
}

variable "replication_primary_broker_arn" {
  type        = string
  description = "Set only in the secondary region: ARN of the primary region's broker; this broker becomes its cross-region data replication (CRDR) replica. Null: a primary (or stand-alone) broker."
  default     = null

  validation {
    condition     = var.replication_primary_broker_arn == null || can(regex("^arn:aws[a-z-]*:mq:[a-z0-9-]+:[0-9]{12}:broker:", var.replication_primary_broker_arn))
    error_message = "replication_primary_broker_arn must be null or an Amazon MQ broker ARN."
  }
}

variable "maintenance_window" {
  type = object({
    day_of_week = string
    time_of_day = string
  })
  description = "Weekly maintenance window (UTC). Active/standby fails over to the standby during it."
  default = {
    day_of_week = "SUNDAY"
    time_of_day = "03:00"
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
