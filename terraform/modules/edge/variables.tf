variable "name" {
  type        = string
  description = "Name prefix (for example \"ledger-primary\"); the ALB name is derived from it."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,24}$", var.name))
    error_message = "name must be 3-25 lowercase letters, digits or hyphens (ALB names are limited to 32 characters)."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the load balancer."
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR of the VPC: the only destination the ALB may send to (the Envoy pods)."

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be a valid IPv4 CIDR."
  }
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "The three public subnets (one per AZ)."

  validation {
    condition     = length(var.public_subnet_ids) == 3
    error_message = "public_subnet_ids must hold the three public subnets, one per availability zone."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the public host name, served by the HTTPS listener."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "target_port" {
  type        = number
  description = "Port of the Envoy edge pods (TLS) that the target group forwards to; the AWS Load Balancer Controller registers the pods through a TargetGroupBinding."
  default     = 8443

  validation {
    condition     = var.target_port > 1024 && var.target_port < 65536
    error_message = "target_port must be an unprivileged port (1025-65535)."
  }
}

variable "health_check_path" {
  type        = string
  description = "Unauthenticated deep-readiness path of the Envoy edge for the Route 53 health check: 200 while Envoy's active health check finds the api role ready (database, broker, workers, projection lag), else 503."
  default     = "/readyz"
}

variable "rate_limit_per_ip" {
  type        = number
  description = "WAF rate-based rule: requests per IP per 5-minute window before blocking."
  default     = 2000

  validation {
    condition     = var.rate_limit_per_ip >= 100 && var.rate_limit_per_ip <= 2000000000
    error_message = "rate_limit_per_ip must be between 100 and 2,000,000,000 (the WAF limits)."
  }
}

variable "vop_rate_limit_per_ip" {
  type        = number
  description = "WAF rate-based rule for the Verification of Payee responder (/v1/vop/payee-verifications): requests per IP per 5-minute window before blocking (default 600,000: 2,000 requests/s from one PSP address)."
  default     = 600000

  validation {
    condition     = var.vop_rate_limit_per_ip >= 100 && var.vop_rate_limit_per_ip <= 2000000000
    error_message = "vop_rate_limit_per_ip must be between 100 and 2,000,000,000 (the WAF limits)."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days the WAF logs (CloudWatch) and the ALB access logs (S3) are kept."
  default     = 400

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must be at least 365."
  }
}

variable "dns" {
  type = object({
    zone_id       = string
    record_name   = string
    failover_role = string
  })
  description = "Optional Route 53 failover record for this region's ALB (PRIMARY in us-east-1, SECONDARY in us-west-2) with a health check on the health path. Null: no DNS record is managed here."
  default     = null

  validation {
    condition     = var.dns == null || contains(["PRIMARY", "SECONDARY"], try(var.dns.failover_role, ""))
    error_message = "dns.failover_role must be PRIMARY or SECONDARY."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
