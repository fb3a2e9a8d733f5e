# CloudWatch alarms on the managed services of one region, published to an SNS topic encrypted
# with a customer-managed key: Aurora replica lag (and, in the secondary region, the global
# database's replication lag, the recovery point objective of docs/operations.md section 8),
# Amazon MQ (the inbound queue's backlog, any dead letter, store and heap usage of both broker
# instances), and the state of each Direct Connect connection. The application's own alerts are
# Prometheus rules in the chart (deploy/helm/backoffice-ledger/files/prometheus-rules.yaml).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  tags = merge(var.tags, { "module" = "alarms" })
  # An ActiveMQ active/standby broker reports its metrics per instance: <name>-1 and <name>-2.
  broker_instances = ["${var.mq_broker_name}-1", "${var.mq_broker_name}-2"]
  # CloudWatch names the queue without the STOMP prefix.
  queues = {
    backlog     = trimprefix(var.mq_inbound_queue, "/queue/")
    dead_letter = trimprefix(var.mq_dead_letter_queue, "/queue/")
  }
}

# The account administers the key (AWS's default key policy); CloudWatch may use it to publish
# alarm notifications to the encrypted topic.
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
      },
      {
        Sid       = "CloudWatchPublishesAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      }
    ]
  })
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: alarm notifications"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.kms_key_policy

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.this.arn

  tags = local.tags
}

# ------------------------------------------------------------------ Aurora

resource "aws_cloudwatch_metric_alarm" "aurora_replica_lag" {
  alarm_name          = "${var.name}-aurora-replica-lag"
  alarm_description   = "Aurora readers of ${var.db_cluster_identifier} lag the writer by more than ${var.replica_lag_threshold_ms} ms (reads stale; a failover to a reader loses nothing, Aurora shares storage)."
  namespace           = "AWS/RDS"
  metric_name         = "AuroraReplicaLagMaximum"
  dimensions          = { DBClusterIdentifier = var.db_cluster_identifier }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.replica_lag_threshold_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "aurora_global_replication_lag" {
  count = var.db_is_global_secondary ? 1 : 0

  alarm_name          = "${var.name}-aurora-global-replication-lag"
  alarm_description   = "The secondary region's cluster ${var.db_cluster_identifier} is more than ${var.global_replication_lag_threshold_ms} ms behind the primary region: a regional failover now would lose that much (RPO objective 60 s)."
  namespace           = "AWS/RDS"
  metric_name         = "AuroraGlobalDBReplicationLag"
  dimensions          = { DBClusterIdentifier = var.db_cluster_identifier }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.global_replication_lag_threshold_ms
  comparison_operator = "GreaterThanThreshold"
  # No data from a secondary that should replicate is itself a problem.
  treat_missing_data = "breaching"
  alarm_actions      = [aws_sns_topic.alarms.arn]
  ok_actions         = [aws_sns_topic.alarms.arn]

  tags = local.tags
}

# ------------------------------------------------------------------ Amazon MQ

resource "aws_cloudwatch_metric_alarm" "mq_queue" {
  for_each = local.queues

  alarm_name          = "${var.name}-mq-${replace(each.key, "_", "-")}"
  alarm_description   = each.key == "backlog" ? "More than ${var.mq_backlog_threshold} payments wait on ${each.value}: ingestion does not keep up (docs/operations.md section 7)." : "Messages wait on the dead-letter queue ${each.value}: payments a channel sent were not booked (docs/ingestion.md)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.key == "backlog" ? var.mq_backlog_threshold : 0
  evaluation_periods  = each.key == "backlog" ? 5 : 1
  datapoints_to_alarm = each.key == "backlog" ? 5 : 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "deepest"
    expression  = "MAX([q1, q2])"
    label       = "messages on ${each.value} (the active instance's)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.broker_instances
    content {
      id = "q${metric_query.key + 1}"
      metric {
        namespace   = "AWS/AmazonMQ"
        metric_name = "QueueSize"
        dimensions  = { Broker = metric_query.value, Queue = each.value }
        period      = 60
        stat        = "Maximum"
      }
    }
  }

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "mq_usage" {
  for_each = { store = "StorePercentUsage", heap = "HeapUsage" }

  alarm_name          = "${var.name}-mq-${each.key}-usage"
  alarm_description   = "${each.value} of the broker above ${var.mq_usage_threshold_percent} %: producer flow control is near (the broker stops accepting payments)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.mq_usage_threshold_percent
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "missing"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "highest"
    expression  = "MAX([u1, u2])"
    label       = "${each.value} (highest instance)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.broker_instances
    content {
      id = "u${metric_query.key + 1}"
      metric {
        namespace   = "AWS/AmazonMQ"
        metric_name = each.value
        dimensions  = { Broker = metric_query.value }
        period      = 60
        stat        = "Maximum"
      }
    }
  }

  tags = local.tags
}

# ------------------------------------------------------------------ Direct Connect

resource "aws_cloudwatch_metric_alarm" "dx_connection_down" {
  for_each = var.dx_connection_ids

  alarm_name          = "${var.name}-dx-${each.key}-down"
  alarm_description   = "Direct Connect connection ${each.key} (${each.value}) is down: on-premise traffic runs on the other connection only."
  namespace           = "AWS/DX"
  metric_name         = "ConnectionState"
  dimensions          = { ConnectionId = each.value }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  tags = local.tags
}
