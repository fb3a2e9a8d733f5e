# Public edge of one region: an internet-facing ALB in the three public subnets that accepts only
# HTTPS on 443 (TLS 1.3/1.2 policy), protected by a WAFv2 web ACL with AWS managed rule groups and
# a per-IP rate limit, forwarding to the Envoy edge pods (JWT authentication, RBAC, rate limiting:
# deploy/envoy/envoy.yaml). Access logs go to S3, WAF logs to an encrypted CloudWatch log group.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_elb_service_account" "this" {}

locals {
  tags       = merge(var.tags, { "module" = "edge" })
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
}

# ------------------------------------------------------------------ security group

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Public ALB: HTTPS 443 from anywhere, to the Envoy pods only"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-alb" })
}

# The only ingress from the internet in the whole estate.
resource "aws_vpc_security_group_ingress_rule" "https_ipv4" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet (IPv4)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "to_envoy" {
  security_group_id = aws_security_group.alb.id
  description       = "To the Envoy edge pods"
  ip_protocol       = "tcp"
  from_port         = var.target_port
  to_port           = var.target_port
  cidr_ipv4         = var.vpc_cidr_block
}

# ------------------------------------------------------------------ access logs (S3)

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:ALB access logs can only be delivered to buckets encrypted with SSE-S3 (AWS documentation); SSE-KMS breaks delivery.
  #checkov:skip=CKV_AWS_18:This is the log bucket itself; logging its access to another bucket would recurse. CloudTrail data events cover it.
  #checkov:skip=CKV_AWS_144:Access logs are regional evidence; each region keeps its own. Replicating them adds no recovery value.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of new log objects; they are read by Athena on demand.
  bucket        = "${var.name}-alb-logs-${local.account_id}"
  force_destroy = false

  tags = local.tags
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire"
    status = "Enabled"

    filter {}

    expiration {
      days = var.log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "ElbDelivers"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.this.arn]
    }
  }

  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

# ------------------------------------------------------------------ load balancer

resource "aws_lb" "this" {
  name                       = "${var.name}-alb"
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = true
  desync_mitigation_mode     = "strictest"
  idle_timeout               = 60

  access_logs {
    bucket  = aws_s3_bucket.access_logs.id
    prefix  = "alb"
    enabled = true
  }

  tags = local.tags

  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_lb_target_group" "envoy" {
  name                 = "${var.name}-envoy"
  target_type          = "ip"
  protocol             = "HTTPS"
  port                 = var.target_port
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    protocol            = "HTTPS"
    path                = var.health_check_path
    matcher             = "200"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.envoy.arn
  }

  tags = local.tags
}

# ------------------------------------------------------------------ WAF

resource "aws_wafv2_web_acl" "this" {
  name        = "${var.name}-edge"
  description = "AWS managed rule groups and a per-IP rate limit in front of the ledger edge"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  # Known malicious sources (botnets, scanners).
  rule {
    name     = "AWSManagedRulesAmazonIpReputationList"
    priority = 10

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      sampled_requests_enabled   = true
      metric_name                = "AWSManagedRulesAmazonIpReputationList"
    }
  }

  # Anonymising proxies and Tor exits. HostingProviderIPList only counts: payment channels and
  # Verification of Payee clients legitimately call from cloud hosting ranges.
  rule {
    name     = "AWSManagedRulesAnonymousIpList"
    priority = 15

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"

        rule_action_override {
          name = "HostingProviderIPList"

          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      sampled_requests_enabled   = true
      metric_name                = "AWSManagedRulesAnonymousIpList"
    }
  }

  # OWASP Top 10 style protections.
  rule {
    name     = "AWSManagedRulesCommonRuleSet"
    priority = 20

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      sampled_requests_enabled   = true
      metric_name                = "AWSManagedRulesCommonRuleSet"
    }
  }

  # Known bad inputs, including the Log4j (CVE-2021-44228) lookups.
  rule {
    name     = "AWSManagedRulesKnownBadInputsRuleSet"
    priority = 30

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      sampled_requests_enabled   = true
      metric_name                = "AWSManagedRulesKnownBadInputsRuleSet"
    }
  }

  # SQL injection.
  rule {
    name     = "AWSManagedRulesSQLiRuleSet"
    priority = 40

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesSQLiRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      sampled_requests_enabled   = true
      metric_name                = "AWSManagedRulesSQLiRuleSet"
    }
  }

  # Linux LFI and command injection patterns.
  rule {
    name     = "AWSManagedRulesLinuxRuleSet"
    priority = 50

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesLinuxRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      sampled_requests_enabled   = true
      metric_name                = "AWSManagedRulesLinuxRuleSet"
    }
  }

  # Verification of Payee, responder (/v1/vop/payee-verifications): other PSPs' systems ask
  # thousands of checks from few addresses, so they have their own, higher per-IP limit (the
  # ledger adds a token bucket per PSP, LEDGER_VOP_RATE_LIMIT_*, and Envoy admits only the
  # vop_requester role); scanning for valid IBANs from one address still runs into it. Our own
  # channels' requester route (/v1/vop/checks) stays under the general limit.
  rule {
    name     = "rate-limit-vop-per-ip"
    priority = 90

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.vop_rate_limit_per_ip
        aggregate_key_type = "IP"

        scope_down_statement {
          byte_match_statement {
            search_string         = "/v1/vop/payee-verifications"
            positional_constraint = "STARTS_WITH"

            field_to_match {
              uri_path {}
            }

            # The path as Envoy routes it: percent-decoded, then dot segments and
            # duplicate slashes removed (/v1/vop/payee-verifications/../../accounts/X
            # is /v1/accounts/X, not a VoP request).
            text_transformation {
              priority = 0
              type     = "URL_DECODE"
            }

            text_transformation {
              priority = 1
              type     = "NORMALIZE_PATH"
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      sampled_requests_enabled   = true
      metric_name                = "rate-limit-vop-per-ip"
    }
  }

  # Everything but the VoP responder (which has its own rule above).
  rule {
    name     = "rate-limit-per-ip"
    priority = 100

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.rate_limit_per_ip
        aggregate_key_type = "IP"

        scope_down_statement {
          not_statement {
            statement {
              byte_match_statement {
                search_string         = "/v1/vop/payee-verifications"
                positional_constraint = "STARTS_WITH"

                field_to_match {
                  uri_path {}
                }

                # The path as Envoy routes it: percent-decoded, then dot segments and
                # duplicate slashes removed (/v1/vop/payee-verifications/../../accounts/X
                # is /v1/accounts/X, not a VoP request).
                text_transformation {
                  priority = 0
                  type     = "URL_DECODE"
                }

                text_transformation {
                  priority = 1
                  type     = "NORMALIZE_PATH"
                }
              }
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      sampled_requests_enabled   = true
      metric_name                = "rate-limit-per-ip"
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    sampled_requests_enabled   = true
    metric_name                = "${var.name}-edge"
  }

  tags = local.tags
}

resource "aws_wafv2_web_acl_association" "alb" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this.arn
}

# A KMS key policy: "Resource = *" means this key only. The account root statement is AWS's
# default key policy, which hands access control to IAM policies of the account.
locals {
  waf_logs_key_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsUse"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:aws-waf-logs-${var.name}"
          }
        }
      }
    ]
  })
}

resource "aws_kms_key" "waf_logs" {
  description             = "${var.name}: WAF logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.waf_logs_key_policy

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "waf" {
  # WAF only logs to groups whose name starts with aws-waf-logs-.
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.waf_logs.arn

  tags = local.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  # Bearer tokens never reach the logs.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}

# ------------------------------------------------------------------ DNS failover (optional)

resource "aws_route53_health_check" "alb" {
  count = var.dns == null ? 0 : 1

  type              = "HTTPS"
  fqdn              = aws_lb.this.dns_name
  port              = 443
  resource_path     = var.health_check_path
  request_interval  = 10
  failure_threshold = 3
  measure_latency   = true

  tags = merge(local.tags, { Name = "${var.name}-alb" })
}

resource "aws_route53_record" "alb" {
  count = var.dns == null ? 0 : 1

  zone_id         = var.dns.zone_id
  name            = var.dns.record_name
  type            = "A"
  set_identifier  = "${var.name}-${lower(var.dns.failover_role)}"
  health_check_id = aws_route53_health_check.alb[0].id

  failover_routing_policy {
    type = var.dns.failover_role
  }

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}
