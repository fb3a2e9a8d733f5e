# Amazon MQ for ActiveMQ, active/standby across two AZs on shared EFS storage, encrypted with a
# customer-managed KMS key, reachable only from the cluster and the on-premise channels over
# STOMP+TLS. In the secondary region the broker is a cross-region data replication (CRDR) replica
# of the primary one, promoted during a regional failover (docs/operations.md).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  tags       = merge(var.tags, { "module" = "mq" })
  is_replica = var.replication_primary_broker_arn != null
}

# A KMS key policy: "Resource = *" means this key only. The account root statement is AWS's
# default key policy, which hands access control to IAM policies of the account.
locals {
  kms_key_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      }
    ]
  })
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: Amazon MQ storage and broker credentials"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.kms_key_policy

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-mq"
  target_key_id = aws_kms_key.this.key_id
}

# ------------------------------------------------------------------ network access

resource "aws_security_group" "this" {
  name        = "${var.name}-mq"
  description = "Amazon MQ: STOMP+TLS from the cluster and on-premise channels only"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-mq" })
}

resource "aws_vpc_security_group_ingress_rule" "stomp_from_sg" {
  for_each = toset(var.client_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "STOMP+TLS from ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = 61614
  to_port                      = 61614
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "stomp_from_cidr" {
  for_each = toset(var.client_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "STOMP+TLS from on-premise ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 61614
  to_port           = 61614
  cidr_ipv4         = each.value
}

# ------------------------------------------------------------------ credentials

# Passwords come from Secrets Manager's generator. The data source draws a new one on every
# plan; ignore_changes keeps the first one stored, and the broker users read it from there.
data "aws_secretsmanager_random_password" "app" {
  password_length     = 32
  exclude_characters  = ",:=\"'\\/@ "
  exclude_punctuation = false
}

data "aws_secretsmanager_random_password" "replication" {
  password_length    = 32
  exclude_characters = ",:=\"'\\/@ "
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:ActiveMQ users live in the broker; a rotation Lambda cannot change them without a broker reboot. Rotated by the runbook in docs/operations.md.
  name                    = "${var.name}/mq/app"
  description             = "STOMP credentials of the ledger roles on ${var.name}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 30

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    username             = "ledger"
    password             = data.aws_secretsmanager_random_password.app.random_password
    replication_password = data.aws_secretsmanager_random_password.replication.random_password
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

locals {
  credentials = jsondecode(aws_secretsmanager_secret_version.app.secret_string)
}

resource "aws_mq_configuration" "this" {
  name           = "${var.name}-activemq"
  description    = "ActiveMQ settings of the ledger broker"
  engine_type    = "ActiveMQ"
  engine_version = var.engine_version

  # One shared ActiveMQ.DLQ (the STOMP adapter's dead-letter policy expects it); dead letters never
  # expire.
  data = <<-XML
    <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
    <broker xmlns="http://activemq.apache.org/schema/core">
      <destinationPolicy>
        <policyMap>
          <policyEntries>
            <policyEntry queue="&gt;">
              <deadLetterStrategy>
                <sharedDeadLetterStrategy processExpired="false"/>
              </deadLetterStrategy>
            </policyEntry>
          </policyEntries>
        </policyMap>
      </destinationPolicy>
    </broker>
  XML

  tags = local.tags
}

resource "aws_mq_broker" "this" {
  broker_name                = var.name
  engine_type                = "ActiveMQ"
  engine_version             = var.engine_version
  host_instance_type         = var.host_instance_type
  deployment_mode            = "ACTIVE_STANDBY_MULTI_AZ"
  storage_type               = "efs"
  subnet_ids                 = var.subnet_ids
  security_groups            = [aws_security_group.this.id]
  publicly_accessible        = false
  auto_minor_version_upgrade = true
  apply_immediately          = false

  data_replication_mode               = local.is_replica ? "CRDR" : "NONE"
  data_replication_primary_broker_arn = var.replication_primary_broker_arn

  configuration {
    id       = aws_mq_configuration.this.id
    revision = aws_mq_configuration.this.latest_revision
  }

  encryption_options {
    use_aws_owned_key = false
    kms_key_id        = aws_kms_key.this.arn
  }

  logs {
    general = true
    audit   = true
  }

  maintenance_window_start_time {
    day_of_week = var.maintenance_window.day_of_week
    time_of_day = var.maintenance_window.time_of_day
    time_zone   = "UTC"
  }

  user {
    username       = "ledger"
    password       = local.credentials.password
    console_access = false
  }

  # CRDR replicates with a dedicated replication user on both brokers of the pair.
  user {
    username         = "replication"
    password         = local.credentials.replication_password
    console_access   = false
    replication_user = true
  }

  tags = local.tags
}
