# Aurora PostgreSQL global database. The primary region creates the global cluster and the
# writer cluster; the secondary region attaches a read-only cluster that storage-level replication
# keeps typically under a second behind. rds.global_db_rpo bounds the lag (RPO < 1 min).
# Encrypted with a customer-managed KMS key in each region, deletion protection on, 35 days of
# point-in-time recovery, final snapshot on destroy.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  tags       = merge(var.tags, { "module" = "database" })
  is_primary = var.role == "primary"
  family     = "aurora-postgresql${split(".", var.engine_version)[0]}"
  engine     = "aurora-postgresql"
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
  description             = "${var.name}: Aurora storage, Performance Insights and the admin secret"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.kms_key_policy

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-aurora"
  target_key_id = aws_kms_key.this.key_id
}

# ------------------------------------------------------------------ global cluster (primary)

resource "aws_rds_global_cluster" "this" {
  count = local.is_primary ? 1 : 0

  global_cluster_identifier = var.global_cluster_identifier
  engine                    = local.engine
  engine_version            = var.engine_version
  database_name             = var.database_name
  storage_encrypted         = true
  deletion_protection       = true
}

# Aurora global databases cannot use RDS-managed master passwords, so the password comes from
# Secrets Manager's generator; ignore_changes keeps the first one stored.
data "aws_secretsmanager_random_password" "master" {
  count = local.is_primary ? 1 : 0

  password_length    = 40
  exclude_characters = "/@\"' "
}

resource "aws_secretsmanager_secret" "master" {
  #checkov:skip=CKV2_AWS_57:The admin password of a global cluster is rotated by the runbook in docs/operations.md (modify-db-cluster on the primary); the application uses IAM database authentication or its own role, not this secret.
  count = local.is_primary ? 1 : 0

  name                    = "${var.name}/aurora/admin"
  description             = "Administrator credentials of the ${var.global_cluster_identifier} global database"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 30

  tags = local.tags
}

resource "aws_secretsmanager_secret_version" "master" {
  count = local.is_primary ? 1 : 0

  secret_id = aws_secretsmanager_secret.master[0].id
  secret_string = jsonencode({
    username = var.master_username
    password = data.aws_secretsmanager_random_password.master[0].random_password
    dbname   = var.database_name
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# ------------------------------------------------------------------ network access

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-aurora"
  description = "Data subnets of ${var.name}"
  subnet_ids  = var.subnet_ids

  tags = local.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-aurora"
  description = "Aurora PostgreSQL: 5432 from the cluster and on-premise tools only"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-aurora" })
}

resource "aws_vpc_security_group_ingress_rule" "postgres_from_sg" {
  for_each = toset(var.client_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "postgres_from_cidr" {
  for_each = toset(var.client_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "PostgreSQL from on-premise ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
}

# ------------------------------------------------------------------ parameters

resource "aws_rds_cluster_parameter_group" "this" {
  name        = "${var.name}-aurora-pg"
  family      = local.family
  description = "Ledger cluster parameters: TLS only, statement logging, global RPO"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  dynamic "parameter" {
    for_each = var.global_rpo_seconds == null ? [] : [var.global_rpo_seconds]

    content {
      name  = "rds.global_db_rpo"
      value = tostring(parameter.value)
    }
  }

  tags = local.tags
}

# ------------------------------------------------------------------ enhanced monitoring

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# ------------------------------------------------------------------ regional cluster

resource "aws_rds_cluster" "this" {
  cluster_identifier        = "${var.name}-aurora"
  engine                    = local.engine
  engine_version            = var.engine_version
  global_cluster_identifier = local.is_primary ? aws_rds_global_cluster.this[0].id : var.global_cluster_identifier

  # Only the primary has credentials and the initial database; a secondary inherits them.
  database_name   = local.is_primary ? var.database_name : null
  master_username = local.is_primary ? var.master_username : null
  master_password = local.is_primary ? jsondecode(aws_secretsmanager_secret_version.master[0].secret_string).password : null

  db_subnet_group_name            = aws_db_subnet_group.this.name
  vpc_security_group_ids          = [aws_security_group.this.id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.this.name

  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.this.arn
  deletion_protection                 = true
  iam_database_authentication_enabled = true
  copy_tags_to_snapshot               = true
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  backup_retention_period      = var.backup_retention_days
  preferred_backup_window      = var.preferred_backup_window
  preferred_maintenance_window = var.preferred_maintenance_window
  skip_final_snapshot          = false
  final_snapshot_identifier    = "${var.name}-aurora-final"
  delete_automated_backups     = false

  tags = local.tags

  lifecycle {
    # After a switchover or failover the roles of the two regional clusters swap; Terraform must
    # not try to undo that.
    ignore_changes = [replication_source_identifier, global_cluster_identifier, master_password]
  }
}

resource "aws_rds_cluster_instance" "this" {
  count = var.instance_count

  identifier                   = "${var.name}-aurora-${count.index}"
  cluster_identifier           = aws_rds_cluster.this.id
  engine                       = aws_rds_cluster.this.engine
  engine_version               = aws_rds_cluster.this.engine_version
  instance_class               = var.instance_class
  db_subnet_group_name         = aws_db_subnet_group.this.name
  publicly_accessible          = false
  auto_minor_version_upgrade   = true
  promotion_tier               = count.index
  copy_tags_to_snapshot        = true
  ca_cert_identifier           = "rds-ca-rsa2048-g1"
  preferred_maintenance_window = var.preferred_maintenance_window

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.monitoring.arn

  tags = local.tags
}

# ------------------------------------------------------------------ AWS Backup
# Automated backups (above) give point-in-time recovery inside the region. AWS Backup adds daily
# recovery points kept in a locked, encrypted vault and copied to the other region, which a
# replicated logical error (a bad migration reaching both regions in seconds) cannot reach.
# Every region has a vault; the plan runs where the writer is created (the primary env).

resource "aws_backup_vault" "this" {
  name          = "${var.name}-aurora"
  kms_key_arn   = aws_kms_key.this.arn
  force_destroy = false

  tags = local.tags
}

resource "aws_backup_vault_lock_configuration" "this" {
  backup_vault_name  = aws_backup_vault.this.name
  min_retention_days = 7
  max_retention_days = 400
}

resource "aws_backup_plan" "this" {
  count = local.is_primary ? 1 : 0

  name = "${var.name}-aurora"

  rule {
    rule_name         = "daily"
    target_vault_name = aws_backup_vault.this.name
    schedule          = "cron(0 5 * * ? *)"
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.backup_retention_days
    }

    dynamic "copy_action" {
      for_each = var.backup_copy_vault_arn == null ? [] : [var.backup_copy_vault_arn]

      content {
        destination_vault_arn = copy_action.value

        lifecycle {
          delete_after = var.backup_retention_days
        }
      }
    }
  }

  tags = local.tags
}

data "aws_iam_policy_document" "backup_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "backup" {
  count = local.is_primary ? 1 : 0

  name               = "${var.name}-aurora-backup"
  assume_role_policy = data.aws_iam_policy_document.backup_assume.json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each = local.is_primary ? toset(["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"]) : toset([])

  role       = aws_iam_role.backup[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/${each.value}"
}

resource "aws_backup_selection" "this" {
  count = local.is_primary ? 1 : 0

  name         = "${var.name}-aurora"
  plan_id      = aws_backup_plan.this[0].id
  iam_role_arn = aws_iam_role.backup[0].arn
  resources    = [aws_rds_cluster.this.arn]
}
