variable "name" {
  type        = string
  description = "Name prefix of the regional cluster (for example \"ledger-primary\")."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "role" {
  type        = string
  description = "\"primary\": create the global cluster and its writer cluster here. \"secondary\": join the existing global cluster as a read-only cluster that a failover promotes."

  validation {
    condition     = contains(["primary", "secondary"], var.role)
    error_message = "role must be \"primary\" or \"secondary\"."
  }
}

variable "global_cluster_identifier" {
  type        = string
  description = "Identifier of the Aurora global database; the same value in both regions."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,62}$", var.global_cluster_identifier))
    error_message = "global_cluster_identifier must be 3-63 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "engine_version" {
  type        = string
  description = "Aurora PostgreSQL engine version (major.minor), identical in both regions."
  default     = "16.6"

  validation {
    condition     = can(regex("^1[5-7]\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be an Aurora PostgreSQL 15, 16 or 17 version such as \"16.6\"."
  }
}

variable "instance_class" {
  type        = string
  description = "Instance class of the writer and readers (global databases need r- or x-class memory-optimised instances)."
  default     = "db.r6g.large"

  validation {
    condition     = can(regex("^db\\.(r[5-8]|x2)", var.instance_class))
    error_message = "instance_class must be a memory-optimised class (db.r5 or newer, db.x2)."
  }
}

variable "instance_count" {
  type        = number
  description = "Instances in this regional cluster: one writer (primary region) plus readers in other AZs that Aurora promotes on an AZ failure."
  default     = 2

  validation {
    condition     = var.instance_count >= 2 && var.instance_count <= 15
    error_message = "instance_count must be between 2 (writer + one failover reader) and 15."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the cluster."
}

variable "subnet_ids" {
  type        = list(string)
  description = "The three data subnets (one per AZ)."

  validation {
    condition     = length(var.subnet_ids) == 3
    error_message = "subnet_ids must hold the three data subnets, one per availability zone."
  }
}

variable "client_security_group_ids" {
  type        = list(string)
  description = "Security groups whose members may connect on 5432 (the EKS cluster/node security group)."

  validation {
    condition     = length(var.client_security_group_ids) >= 1
    error_message = "At least one client security group is needed, or nothing can reach the database."
  }
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "Private ranges (on-premise reporting or reconciliation tools over Direct Connect) allowed on 5432."
  default     = []

  validation {
    condition     = alltrue([for c in var.client_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "client_cidr_blocks must be valid CIDRs and must not contain 0.0.0.0/0."
  }
}

variable "database_name" {
  type        = string
  description = "Initial database of the global cluster (primary only)."
  default     = "ledger"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase PostgreSQL identifier."
  }
}

variable "master_username" {
  type        = string
  description = "Administrator user of the cluster (primary only). The password is generated and kept in Secrets Manager."
  default     = "ledger_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.master_username)) && var.master_username != "postgres"
    error_message = "master_username must be a lowercase identifier of at most 16 characters, not postgres."
  }
}

variable "backup_retention_days" {
  type        = number
  description = "Days of automated backups and point-in-time recovery."
  default     = 35

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "global_rpo_seconds" {
  type        = number
  description = "rds.global_db_rpo: the writer pauses commits when no secondary region is within this many seconds, capping the cross-region data loss (RPO < 1 min). Null leaves it unset."
  default     = 30

  validation {
    condition     = var.global_rpo_seconds == null || (var.global_rpo_seconds >= 20 && var.global_rpo_seconds < 60)
    error_message = "global_rpo_seconds must be null or between 20 (the Aurora minimum) and 59 (RPO < 1 min)."
  }
}

variable "preferred_backup_window" {
  type        = string
  description = "Daily backup window (UTC, hh24:mi-hh24:mi)."
  default     = "02:00-03:00"
}

variable "preferred_maintenance_window" {
  type        = string
  description = "Weekly maintenance window (UTC, ddd:hh24:mi-ddd:hh24:mi), outside the backup window."
  default     = "sun:04:00-sun:05:00"
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "backup_copy_vault_arn" {
  type        = string
  description = "AWS Backup vault in the other region that receives a copy of every daily backup (protection against logical corruption replicated by the global database, and against losing a region). Null: no copy."
  default     = null

  validation {
    condition     = var.backup_copy_vault_arn == null || can(regex("^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:", var.backup_copy_vault_arn))
    error_message = "backup_copy_vault_arn must be null or an AWS Backup vault ARN."
  }
}
