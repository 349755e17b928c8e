local function double(n)
  return tonumber(n) * 2
end
