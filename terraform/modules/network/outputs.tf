output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "The three availability zones, in subnet order."
  value       = var.azs
}

output "public_subnet_ids" {
  description = "Public subnets (ALB, NAT gateways), one per AZ."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (EKS nodes and pods), one per AZ."
  value       = aws_subnet.private[*].id
}

output "data_subnet_ids" {
  description = "Data subnets (Aurora, Amazon MQ), one per AZ, no internet route."
  value       = aws_subnet.data[*].id
}

output "private_route_table_ids" {
  description = "Route tables of the private subnets, one per AZ."
  value       = aws_route_table.private[*].id
}

output "data_route_table_ids" {
  description = "Route tables of the data subnets, one per AZ."
  value       = aws_route_table.data[*].id
}

output "nat_gateway_ids" {
  description = "NAT gateways, one per AZ."
  value       = aws_nat_gateway.this[*].id
}

output "nat_public_ips" {
  description = "Public egress addresses (for allow-lists of outside parties)."
  value       = aws_eip.nat[*].public_ip
}

output "flow_log_group_name" {
  description = "CloudWatch log group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}
