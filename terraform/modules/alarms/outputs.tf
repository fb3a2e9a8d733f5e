output "topic_arn" {
  description = "SNS topic of the alarms (subscribe the on-call's pager or e-mail to it)."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Every alarm this module creates."
  value = concat(
    [aws_cloudwatch_metric_alarm.aurora_replica_lag.alarm_name],
    aws_cloudwatch_metric_alarm.aurora_global_replication_lag[*].alarm_name,
    [for a in aws_cloudwatch_metric_alarm.mq_queue : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.mq_usage : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dx_connection_down : a.alarm_name],
  )
}
