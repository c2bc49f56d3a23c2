CREATE EXTERNAL TABLE `eks_fb_s3`(
  `date` string, 
  `item_id` string, 
  `product_category` string, 
  `price` string, 
  `quantity` int, 
  `order_date` date, 
  `state` string, 
  `shipping_type` string, 
  `referral` string
  )
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://<<YOUR S3 BUCKET>>/fluent-bit-logs/states.ca/'
TBLPROPERTIES ('has_encrypted_data'='false')
