variable "name" {
  type        = string
  description = "Name prefix of the roles (for example \"ledger-primary\")."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "oidc_provider_arn" {
  type        = string
  description = "ARN of the cluster's IAM OIDC provider (eks module output)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN."
  }
}

variable "oidc_issuer_url" {
  type        = string
  description = "Issuer URL of the cluster (https://oidc.eks.<region>.amazonaws.com/id/...)."

  validation {
    condition     = startswith(var.oidc_issuer_url, "https://")
    error_message = "oidc_issuer_url must start with https://."
  }
}

variable "service_accounts" {
  type = map(object({
    namespace           = string
    service_account     = string
    secret_arns         = optional(list(string), [])
    kms_key_arns        = optional(list(string), [])
    rds_connect_arns    = optional(list(string), [])
    managed_policy_arns = optional(list(string), [])
  }))
  description = "IAM roles for Kubernetes service accounts (IRSA), by role name suffix. Each role trusts exactly one namespace/service account and may read the listed secrets, decrypt with the listed keys through Secrets Manager, connect to the listed rds-db users, and carry the listed managed policies."

  validation {
    condition     = alltrue([for sa in values(var.service_accounts) : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", sa.namespace)) && can(regex("^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", sa.service_account))])
    error_message = "namespace and service_account must be valid Kubernetes names."
  }

  validation {
    condition     = alltrue(flatten([for sa in values(var.service_accounts) : [for a in concat(sa.secret_arns, sa.kms_key_arns, sa.rds_connect_arns) : a != "*"]]))
    error_message = "Resource lists must name resources; \"*\" is not allowed."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
