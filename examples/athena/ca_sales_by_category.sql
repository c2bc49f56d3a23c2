SELECT product_category,
       count(*) AS orders,
       sum(quantity) AS units,
       sum(CAST(price AS integer) * quantity) AS revenue
FROM eks_fb_s3
GROUP BY product_category
ORDER BY revenue DESC
