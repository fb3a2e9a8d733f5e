output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer (for alias records)."
  value       = aws_lb.this.zone_id
}

output "alb_security_group_id" {
  description = "Security group of the ALB; the Envoy pods accept traffic from it."
  value       = aws_security_group.alb.id
}

output "target_group_arn" {
  description = "Target group the Envoy pods are bound to (TargetGroupBinding of the AWS Load Balancer Controller)."
  value       = aws_lb_target_group.envoy.arn
}

output "web_acl_arn" {
  description = "ARN of the WAFv2 web ACL."
  value       = aws_wafv2_web_acl.this.arn
}
