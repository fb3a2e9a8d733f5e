output "region" {
  description = "Region of this env."
  value       = local.region
}

output "eks_cluster_name" {
  description = "EKS cluster (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "irsa_role_arns" {
  description = "IRSA roles; the app role goes into the chart's serviceAccount.annotations."
  value       = module.iam.role_arns
}

output "db_cluster_identifier" {
  description = "This region's Aurora cluster (failover target)."
  value       = module.database.cluster_identifier
}

output "db_cluster_arn" {
  description = "ARN of this region's Aurora cluster."
  value       = module.database.cluster_arn
}

output "db_writer_endpoint" {
  description = "Writer endpoint of this region's cluster (LEDGER_DATABASE_URL host)."
  value       = module.database.writer_endpoint
}

output "mq_broker_id" {
  description = "Amazon MQ broker of this region."
  value       = module.mq.broker_id
}

output "mq_broker_arn" {
  description = "ARN of this region's broker (the secondary env's mq_primary_broker_arn)."
  value       = module.mq.broker_arn
}

output "mq_stomp_endpoints" {
  description = "STOMP+TLS endpoints (LEDGER_STOMP_URL)."
  value       = module.mq.stomp_endpoints
}

output "alb_dns_name" {
  description = "Public ALB of this region."
  value       = module.edge.alb_dns_name
}

output "envoy_target_group_arn" {
  description = "Target group for the Envoy TargetGroupBinding."
  value       = module.edge.target_group_arn
}

output "nat_public_ips" {
  description = "Egress addresses of this region."
  value       = module.network.nat_public_ips
}

output "alarm_topic_arn" {
  description = "SNS topic of the CloudWatch alarms (subscribe the on-call to it)."
  value       = module.alarms.topic_arn
}
